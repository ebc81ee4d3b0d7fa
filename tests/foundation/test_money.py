"""shared/money.py and shared/nip.py: exact money (R-B7, R-B9, R-B11, R-B12) and NIP checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.money import from_minor, prorate_rest_of_month, remaining_days_in_month, to_grosz, to_minor, vat
from shared.nip import normalize_nip


def test_rounding_is_half_up_to_the_grosz_R_B9():
    assert to_grosz(Decimal("0.005")) == Decimal("0.01")
    assert to_grosz(Decimal("2.345")) == Decimal("2.35")
    assert vat(Decimal("66.67")) == Decimal("15.33")  # R-B7 example


def test_rest_of_month_proration_includes_the_start_day_R_B11():
    assert remaining_days_in_month(date(2026, 11, 21)) == 10
    assert prorate_rest_of_month(Decimal("99.00"), date(2026, 11, 21)) == Decimal("33.00")
    assert prorate_rest_of_month(Decimal("299.00"), date(2026, 11, 1)) == Decimal("299.00")
    assert prorate_rest_of_month(Decimal("100.00"), date(2028, 2, 29)) == Decimal("3.45")  # leap February


def test_minor_units_round_trip_exactly():
    assert to_minor(Decimal("82.00")) == 8200 and from_minor(8200) == Decimal("82.00")
    with pytest.raises(ValueError):
        to_minor(Decimal("0.001"))


@pytest.mark.parametrize("raw", ["5260250274", "526-025-02-74", "PL5260250274", " 526 025 02 74 "])
def test_valid_nip_forms(raw):
    assert normalize_nip(raw) == "5260250274"


@pytest.mark.parametrize("raw", ["5260250275", "123456789", "abcdefghij", "0000000000x"])
def test_invalid_nip(raw):
    with pytest.raises(ValueError):
        normalize_nip(raw)
