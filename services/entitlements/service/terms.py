"""Pure contract-term rules: status transitions and term dates. No I/O."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from services.entitlements.statuses import ContractStatus

PENDING, ACTIVE, SUSPENDED = ContractStatus.PENDING_PAYMENT, ContractStatus.ACTIVE, ContractStatus.SUSPENDED
TERMINATED, EXPIRED = ContractStatus.TERMINATED, ContractStatus.EXPIRED
LIVE = frozenset({PENDING, ACTIVE, SUSPENDED})

# action → (allowed from, to). R-E1 expiry, R-E4 suspension, R-E5/R-E6 termination.
TRANSITIONS: dict[str, tuple[frozenset[ContractStatus], ContractStatus]] = {
    "activate": (frozenset({PENDING}), ACTIVE),
    "suspend": (frozenset({ACTIVE}), SUSPENDED),
    "resume": (frozenset({SUSPENDED}), ACTIVE),
    "terminate": (LIVE, TERMINATED),
    "expire": (LIVE, EXPIRED),
}


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_end(starts_on: date, term_months: int) -> date:
    """Last day of a term (R-E1, R-B11): 12 months from 21 Nov 2026 runs through 20 Nov 2027."""
    return add_months(starts_on, term_months) - timedelta(days=1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, first.replace(day=calendar.monthrange(day.year, day.month)[1])
