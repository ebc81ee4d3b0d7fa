"""Which plan's fee a period owes (R-B7, R-B11), pure. No I/O.

A contract's price schedule lists the plan owed from a day on: the plan bought, then each upgrade
from its date. A period is billed, in advance, at the plan owed on the day before it starts: the
month of an upgrade is billed at the old price for every day, because the upgrade's supplement
pays the difference from the upgrade day to the month's end; the new price applies from the next
month. So each day is paid once, at the plan the customer has (or pays for) that day:

    old fee (all days of the month) + supplement (difference × remaining days ÷ days in month)
    = old price for the days before the upgrade + new price for the days from it.

An upgrade on the 1st is therefore paid wholly by its supplement (200.00 × 31/31), and the month's
invoice stays at the old price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, Sequence

from services.billing.service.periods import Period, prorated
from services.billing.statuses import PriceState


class Scheduled(Protocol):
    plan_id: str
    plan_name: str
    price_net: Decimal
    effective_from: date
    seq: int
    state: str


APPLIED, PENDING = PriceState.APPLIED, PriceState.PENDING


def owed_for(schedule: Sequence[Scheduled], period: Period) -> Scheduled:
    """The price row a period's fee is billed at: the last applied row owed from before the
    period's first day; the plan bought when none is (the start month). A pending upgrade (its
    supplement not yet paid, R-B7) is not owed yet."""
    applied = sorted((r for r in schedule if r.state == APPLIED), key=lambda r: (r.effective_from, r.seq))
    if not applied:
        raise ValueError("a price schedule needs the plan bought")
    owed = applied[0]
    for row in applied[1:]:
        if row.effective_from < period.first:
            owed = row
    return owed


@dataclass(frozen=True)
class Fee:
    """A period's monthly fee at one plan, prorated to the days the term covers (R-B11)."""

    net: Decimal
    days: int
    period_days: int


def fee(row: Scheduled, period: Period, starts_on: date, ends_on: date) -> Fee:
    net, days = prorated(row.price_net, period, starts_on, ends_on)
    return Fee(net, days, period.days)
