"""Pure quota arithmetic (R-S4, R-S6): which period a usage falls in, what is included and what
is overage. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.entitlements.service.terms import month_bounds, month_key

TERM = "term"
MONTH = "month"


@dataclass(frozen=True)
class QuotaRule:
    metric: str
    period: str  # "month" (calendar month, no carry-over) or "term" (the whole contract term)
    limit: int
    unit: str
    max_per_record: int | None = None

    @classmethod
    def from_plan(cls, metric: str, raw: dict[str, object]) -> "QuotaRule":
        return cls(metric=metric, period=str(raw["period"]), limit=int(raw["limit"]),  # type: ignore[call-overload]
                   unit=str(raw.get("unit", "unit")),
                   max_per_record=int(raw["max_per_record"]) if raw.get("max_per_record") else None)  # type: ignore[call-overload]

    def period_key(self, on: date) -> str:
        return month_key(on) if self.period == MONTH else TERM

    def period_bounds(self, on: date, term_start: date, term_end: date) -> tuple[date, date]:
        if self.period == MONTH:
            first, last = month_bounds(on)
            return max(first, term_start), min(last, term_end)
        return term_start, term_end


@dataclass(frozen=True)
class Allocation:
    included: int
    overage: int


def allocate(quantity: int, used: int, limit: int) -> Allocation:
    """Split a usage into the part the quota still covers and the overage beyond it."""
    left = max(0, limit - used)
    included = min(quantity, left)
    return Allocation(included=included, overage=quantity - included)
