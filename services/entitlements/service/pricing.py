"""Pure pricing of upgrades (R-B7). No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.entitlements.service.terms import month_bounds
from shared.money import to_grosz, vat


@dataclass(frozen=True)
class Quote:
    net: Decimal
    vat: Decimal
    gross: Decimal
    monthly_difference: Decimal
    remaining_days: int
    days_in_month: int
    currency: str = "PLN"


def upgrade_quote(old_price: Decimal, new_price: Decimal, on: date, term_ends_on: date) -> Quote:
    """R-B7: net price difference × remaining days ÷ days in the month; remaining days run from
    the upgrade date through the month's last day (or the term's, if earlier), both included;
    half-up to the grosz. Example: 99.00 → 299.00 on 21 Nov: 200 × 10/30 = 66.67 + 15.33 = 82.00."""
    first, last = month_bounds(on)
    days = (last - first).days + 1
    remaining = (min(last, term_ends_on) - on).days + 1
    difference = max(Decimal("0"), new_price - old_price)
    net = to_grosz(difference * remaining / days)
    tax = vat(net)
    return Quote(net=net, vat=tax, gross=net + tax, monthly_difference=difference, remaining_days=remaining,
                 days_in_month=days)
