"""Exact money arithmetic: Decimal, rounded half-up to the grosz. No I/O, no floats.

Used by entitlements (upgrade quotes, R-B7) and billing (invoices, R-B9, R-B12).
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

GROSZ = Decimal("0.01")
VAT_RATE_STANDARD = Decimal("0.23")  # R-B9: 23 % VAT on net prices
CURRENCY = "PLN"


def to_grosz(amount: Decimal) -> Decimal:
    """Round half-up to 0.01 (R-B7, R-B12)."""
    return amount.quantize(GROSZ, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal) -> int:
    """Decimal złoty → integer grosze (exact; the amount must already be whole grosze)."""
    q = amount.quantize(GROSZ)
    if q != amount:
        raise ValueError(f"{amount} is not a whole number of grosze")
    return int(q * 100)


def from_minor(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(GROSZ)


def vat(net: Decimal, rate: Decimal = VAT_RATE_STANDARD) -> Decimal:
    """VAT on a net amount, half-up to the grosz (R-B12)."""
    return to_grosz(net * rate)


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def remaining_days_in_month(day: date) -> int:
    """Days from `day` through the month's last day, both included (R-B7, R-B11)."""
    return days_in_month(day) - day.day + 1


def prorate_rest_of_month(monthly: Decimal, from_day: date) -> Decimal:
    """Monthly amount × remaining days ÷ days in month, half-up to the grosz (R-B7, R-B11)."""
    return to_grosz(monthly * remaining_days_in_month(from_day) / days_in_month(from_day))
