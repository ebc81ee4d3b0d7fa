"""An oracle for what a contract owes around an upgrade, written from DOMAIN.md alone (not from
billing's code), and a reader of what billing actually invoiced, day by day.

R-B11: a month is paid in advance, the start month prorated by days (start day included).
R-B7: an upgrade costs the net price difference × remaining days ÷ days in the month (upgrade
day through the month's last day), half-up to the grosz; the new price from the next month.
So the upgrade's month costs the old fee plus that supplement, and every later month the new fee.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterator

GROSZ = Decimal("0.01")


def half_up(value: Decimal) -> Decimal:
    return value.quantize(GROSZ, rounding=ROUND_HALF_UP)


def month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class Upgrade:
    old_plan: str
    old_price: Decimal
    new_plan: str
    new_price: Decimal
    starts_on: date  # the contract's first day
    on: date  # the upgrade's date

    def plan_on(self, day: date) -> str:
        return self.new_plan if day >= self.on else self.old_plan

    def owed_for_month(self, year: int, month: int) -> Decimal:
        """Net owed for the days of a month the contract covers (term ends later)."""
        n = month_days(year, month)
        first = max(date(year, month, 1), self.starts_on)
        covered = (date(year, month, n) - first).days + 1
        if (year, month) < (self.on.year, self.on.month):
            return half_up(self.old_price * covered / n)
        if (year, month) > (self.on.year, self.on.month):
            return half_up(self.new_price * covered / n)
        remaining = n - self.on.day + 1
        base = half_up(self.old_price * covered / n)
        return base + half_up((self.new_price - self.old_price) * remaining / n)


@dataclass
class Billed:
    """What billing invoiced, per day: the fee lines (one per day, or the day was billed twice
    or never) and what raised them (supplements, catch-ups), each with the plan it bills."""

    fee_plans: dict[date, list[str]] = field(default_factory=dict)
    supplement_plans: dict[date, list[str]] = field(default_factory=dict)
    net_per_month: dict[tuple[int, int], Decimal] = field(default_factory=dict)

    def add(self, invoice: dict[str, Any]) -> None:
        start, end = date.fromisoformat(invoice["period_start"]), date.fromisoformat(invoice["period_end"])
        month = (start.year, start.month)
        for line in invoice["lines"]:
            if line["kind"] not in ("subscription", "supplement"):
                continue
            self.net_per_month[month] = self.net_per_month.get(month, Decimal("0.00")) + Decimal(line["net"])
            # a month's fee is billed by its first or period invoice; an upgrade's supplement, or a
            # catch-up of a fee billed before the upgrade applied, raises the days it covers
            is_fee = line["kind"] == "subscription" and invoice["purpose"] in ("first", "period")
            target = self.fee_plans if is_fee else self.supplement_plans
            if Decimal(line["net"]) > 0:
                for day in days(start, end):
                    target.setdefault(day, []).append(line["plan_id"])

    def plan_paid_on(self, day: date) -> str:
        """The plan a day is paid at: its fee's plan, raised by a supplement covering the day."""
        fees, supplements = self.fee_plans.get(day, []), self.supplement_plans.get(day, [])
        assert len(fees) == 1, f"{day} is billed {len(fees)} times for its monthly fee ({fees})"
        assert len(supplements) <= 1, f"{day} is covered by {len(supplements)} supplements"
        return supplements[0] if supplements else fees[0]
