"""R-B4: billing counts business days with the same Polish calendar as the SLA engine (R-T4),
24 December included (a public holiday in Poland from 2025 on)."""

from datetime import date, datetime, timezone

from services.billing.service.periods import Period, charge_window, is_business_day, nth_business_day
from shared.business_time import Calendar


def test_r_b4_christmas_eve_is_not_a_billing_business_day():
    assert not is_business_day(date(2025, 12, 24))
    assert not is_business_day(date(2026, 12, 24))
    assert is_business_day(date(2026, 12, 23))
    assert is_business_day(date(2024, 12, 24))  # before the act took effect


def test_r_b4_the_charge_window_skips_24_december_as_the_sla_calendar_does():
    # December 2026: the 17th business day is Wed 23rd; Thu 24th and Fri 25th are holidays
    assert nth_business_day(Period(2026, 12), 17) == date(2026, 12, 23)
    assert nth_business_day(Period(2026, 12), 18) == date(2026, 12, 28)
    window = charge_window(Period(2026, 12), business_days=18)
    assert window.closes_at == datetime(2026, 12, 28, 23, 0, tzinfo=timezone.utc)  # end of Mon 28th, Warsaw
    sla = Calendar(timezone="Europe/Warsaw", weekly={}, country="PL")
    assert date(2026, 12, 24) in sla.holidays_in(2026)
