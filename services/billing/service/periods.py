"""Billing periods and the charge window, pure (R-B4, R-B11). No I/O.

A period is a calendar month `YYYY-MM`. A contract pays the part of a month it covers, prorated
by days (start day included; a term ending mid-month likewise). Automatic charges for a period
happen only from 24 h before the end of the preceding month through the third business day of
the period; Saturdays, Sundays and Polish public holidays (shared/public_holidays.py, the one
calendar the SLA engine uses too: 24 December included from 2025 on) are not business days.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.money import to_grosz
from shared.public_holidays import is_business_day

WARSAW = ZoneInfo("Europe/Warsaw")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        m = _PERIOD.match(text)
        if not m:
            raise ValueError(f"{text!r} is not a period YYYY-MM")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> "Period":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def days(self) -> int:
        return self.last.day

    def next(self) -> "Period":
        return Period.of(self.last + timedelta(days=1))

    def previous(self) -> "Period":
        return Period.of(self.first - timedelta(days=1))


def covered_days(period: Period, starts_on: date, ends_on: date) -> int:
    """Days of the period inside the term [starts_on, ends_on], both included (R-B11)."""
    first, last = max(period.first, starts_on), min(period.last, ends_on)
    return max(0, (last - first).days + 1)


def prorated(monthly: Decimal, period: Period, starts_on: date, ends_on: date) -> tuple[Decimal, int]:
    """The period's fee for a term (R-B11) and the days it covers; a full month is the monthly fee."""
    days = covered_days(period, starts_on, ends_on)
    if days == period.days:
        return monthly, days
    return to_grosz(monthly * days / period.days), days


def nth_business_day(period: Period, n: int) -> date:
    day, seen = period.first, 0
    while True:
        if is_business_day(day):
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)


@dataclass(frozen=True)
class ChargeWindow:
    opens_at: datetime  # aware
    closes_at: datetime  # aware: the end of the last business day allowed

    def contains(self, instant: datetime) -> bool:
        return self.opens_at <= instant < self.closes_at


def charge_window(period: Period, hours_before: int = 24, business_days: int = 3) -> ChargeWindow:
    """R-B4: from `hours_before` hours before the end of the preceding month (Warsaw time)
    through the end of the period's `business_days`-th business day."""
    # in UTC: arithmetic on Warsaw wall-clock time would be an hour off across a DST change
    start = datetime.combine(period.first, time(0), WARSAW).astimezone(timezone.utc) - timedelta(hours=hours_before)
    last_day = nth_business_day(period, business_days)
    end = datetime.combine(last_day + timedelta(days=1), time(0), WARSAW).astimezone(timezone.utc)
    return ChargeWindow(start, end)
