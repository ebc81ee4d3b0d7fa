"""shared/business_time.py by example: the catalogue's calendars (R-T4, R-T5), pauses (R-T2),
declared closures (R-T6, R-T10), holidays and DST. Local times are Europe/Warsaw."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import shared.business_time as bt
import shared.public_holidays as ph
from shared.business_time import Calendar, Explanation, Interval
from tests.sla.reference import CALENDARS, EVERY_DAY, catalogue_plans, plan_calendar_spec

WAW = ZoneInfo("Europe/Warsaw")
UTC = timezone.utc


def L(y, mo, d, h=0, mi=0) -> datetime:
    """A Warsaw local time."""
    return datetime(y, mo, d, h, mi, tzinfo=WAW)


def cal(plan_id: str, **kw) -> Calendar:
    spec, round_the_clock = plan_calendar_spec(plan_id)
    return Calendar.from_spec(spec, round_the_clock=round_the_clock, **kw)


STANDARD = cal("o365-standard")
ADVANCED = cal("o365-advanced")
FREE = cal("o365-free")
SAGE = cal("sage-warranty-komfort")
EVERY_DAY_8H = Calendar.from_spec({**EVERY_DAY, "holidays": None})  # 28 Mar 2027 is Easter Sunday
EVERY_DAY_24H = Calendar.from_spec({**EVERY_DAY, "holidays": None}, round_the_clock=True)

# (Sunday of the changeover, spring?, the next business day) for 2025–2027. In 2027 the
# Monday after is a holiday both times: Easter Monday (29 Mar) and All Saints' Day (1 Nov).
DST_CHANGEOVERS = [
    (date(2025, 3, 30), True, date(2025, 3, 31)), (date(2025, 10, 26), False, date(2025, 10, 27)),
    (date(2026, 3, 29), True, date(2026, 3, 30)), (date(2026, 10, 25), False, date(2026, 10, 26)),
    (date(2027, 3, 28), True, date(2027, 3, 30)), (date(2027, 10, 31), False, date(2027, 11, 2)),
]


def test_every_catalogue_plan_uses_a_calendar_covered_by_the_property_tests():
    covered = list(CALENDARS.values())
    for plan_id in catalogue_plans():
        assert plan_calendar_spec(plan_id) in covered, plan_id


# -- R-T4 / R-T5: o365-standard, Mon–Fri 08:30–16:30 -------------------------------------------

def test_R_T4_standard_4h_from_friday_afternoon_is_due_monday_11_00():
    due = STANDARD.add(L(2026, 11, 20, 15), 240)
    assert due == L(2026, 11, 23, 11)
    assert due.tzinfo is UTC


def test_R_T4_output_is_utc_and_any_input_zone_is_accepted():
    start = L(2026, 11, 20, 15).astimezone(ZoneInfo("America/New_York"))
    due = STANDARD.add(start, 240)
    assert due.tzinfo is UTC and due == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("filed, due", [
    (L(2026, 11, 21, 10), L(2026, 11, 23, 12, 30)),   # Saturday
    (L(2026, 11, 23, 7), L(2026, 11, 23, 12, 30)),    # Monday before opening
    (L(2026, 11, 20, 16, 30), L(2026, 11, 23, 12, 30)),  # Friday at closing: already closed
    (L(2026, 11, 23, 8, 30), L(2026, 11, 23, 12, 30)),   # exactly at opening
    (L(2026, 11, 22, 23, 59), L(2026, 11, 23, 12, 30)),  # Sunday night
])
def test_R_T4_filed_outside_hours_starts_at_the_next_opening(filed, due):
    assert STANDARD.add(filed, 240) == due


def test_R_T4_the_due_time_may_be_the_closing_instant():
    assert STANDARD.add(L(2026, 11, 20, 15), 90) == L(2026, 11, 20, 16, 30)
    assert STANDARD.add(L(2026, 11, 20, 15), 91) == L(2026, 11, 23, 8, 31)


def test_R_T4_zero_minutes_is_the_next_opening():
    assert STANDARD.add(L(2026, 11, 21, 10), 0) == L(2026, 11, 23, 8, 30)
    assert STANDARD.add(L(2026, 11, 20, 10, 15), 0) == L(2026, 11, 20, 10, 15)
    assert STANDARD.next_opening(L(2026, 11, 21, 10)) == L(2026, 11, 23, 8, 30)
    assert STANDARD.next_opening(L(2026, 11, 20, 10, 15)) == L(2026, 11, 20, 10, 15)


def test_R_T5_standard_skips_easter_monday_2026():
    assert not STANDARD.is_open(L(2026, 4, 6, 10))
    assert STANDARD.add(L(2026, 4, 3, 15), 240) == L(2026, 4, 7, 11)  # Fri → Tue


def test_R_T5_standard_skips_independence_day_wednesday_11_nov_2026():
    assert not STANDARD.is_open(L(2026, 11, 11, 10))
    assert STANDARD.add(L(2026, 11, 10, 15), 240) == L(2026, 11, 12, 11)
    assert STANDARD.between(L(2026, 11, 10, 8, 30), L(2026, 11, 13, 8, 30)) == 2 * 480


@pytest.mark.parametrize("year, filed, due", [
    (2025, L(2025, 12, 23, 15), L(2025, 12, 29, 11)),  # 24, 25, 26 Dec (Wed–Fri), weekend
    (2026, L(2026, 12, 23, 15), L(2026, 12, 28, 11)),  # 24, 25 Dec (Thu, Fri), weekend
])
def test_R_T5_christmas_eve_is_a_holiday_from_2025(year, filed, due):
    assert date(year, 12, 24) in STANDARD.holidays_in(year)
    assert not STANDARD.is_open(L(year, 12, 24, 10))
    assert STANDARD.add(filed, 240) == due


def test_R_T5_christmas_eve_2024_was_a_working_day():
    assert date(2024, 12, 24) not in STANDARD.holidays_in(2024)
    assert STANDARD.is_open(L(2024, 12, 24, 10))


@pytest.fixture
def holidays_package_without_christmas_eve(monkeypatch):
    """An older `holidays` release: Poland's 24 December is missing. The calendar's cache is cleared on
    both sides so neither the real nor the patched package leaks into other tests."""
    real = ph.holidays_lib.country_holidays

    def without_christmas_eve(country, years):
        return {d: n for d, n in real(country, years=years).items() if (d.month, d.day) != (12, 24)}

    ph._holidays.cache_clear()
    monkeypatch.setattr(ph.holidays_lib, "country_holidays", without_christmas_eve)
    yield
    ph._holidays.cache_clear()


def test_R_T5_christmas_eve_is_added_when_the_holidays_package_lacks_it(holidays_package_without_christmas_eve):
    assert (12, 24) not in {(d.month, d.day) for d in ph.holidays_lib.country_holidays("PL", years=2026)}
    old_package = cal("o365-standard")
    assert not old_package.is_open(L(2026, 12, 24, 10))
    assert old_package.is_open(L(2024, 12, 24, 10))
    assert not ph.is_business_day(date(2026, 12, 24))


def test_R_T5_polish_holidays_2026():
    assert sorted(STANDARD.holidays_in(2026)) == [
        date(2026, 1, 1), date(2026, 1, 6), date(2026, 4, 5), date(2026, 4, 6), date(2026, 5, 1),
        date(2026, 5, 3), date(2026, 5, 24), date(2026, 6, 4), date(2026, 8, 15), date(2026, 11, 1),
        date(2026, 11, 11), date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)]


# -- R-T5: o365-advanced, Mon–Fri 08:30–18:30 and Sat 08:30–16:30 --------------------------------

def test_R_T5_advanced_counts_saturday():
    assert ADVANCED.add(L(2026, 11, 20, 17), 240) == L(2026, 11, 21, 11)  # 1 h 30 Fri + 2 h 30 Sat
    assert ADVANCED.add(L(2026, 11, 21, 15), 240) == L(2026, 11, 23, 11)  # 1 h 30 Sat + 2 h 30 Mon
    assert STANDARD.add(L(2026, 11, 20, 16), 240) == L(2026, 11, 23, 12)  # Standard: no Saturday


def test_R_T5_advanced_saturday_holiday_assumption_15_aug_2026_does_not_count():
    assert not ADVANCED.is_open(L(2026, 8, 15, 10))
    assert ADVANCED.add(L(2026, 8, 14, 17), 240) == L(2026, 8, 17, 11)
    assert ADVANCED.is_open(L(2026, 8, 22, 10))  # the next Saturday does


def test_R_T5_advanced_saturday_holiday_all_saints_1_nov_2025_does_not_count():
    assert not ADVANCED.is_open(L(2025, 11, 1, 10))
    assert ADVANCED.add(L(2025, 10, 31, 17), 240) == L(2025, 11, 3, 11)


# -- o365-free: 24 h estimate / 48 h limit on business days, round the clock ----------------------

def test_free_plan_counts_business_days_round_the_clock():
    assert FREE.add(L(2026, 11, 20, 15), 1440) == L(2026, 11, 23, 15)  # 9 h Fri + 15 h Mon
    assert FREE.add(L(2026, 11, 20, 15), 2880) == L(2026, 11, 24, 15)
    assert FREE.add(L(2026, 11, 21, 10), 1440) == L(2026, 11, 24, 0)   # Saturday: from Mon 00:00
    assert FREE.is_open(L(2026, 11, 23, 3)) and not FREE.is_open(L(2026, 11, 22, 12))


def test_free_plan_skips_holidays_round_the_clock():
    assert FREE.add(L(2026, 11, 10, 12), 1440) == L(2026, 11, 12, 12)  # Wed 11 Nov is a holiday
    assert FREE.add(L(2026, 12, 23, 15), 2880) == L(2026, 12, 29, 15)


def test_free_plan_week_is_one_merged_interval():
    (week,) = FREE.open_intervals(L(2026, 11, 23), L(2026, 11, 28))
    assert week == Interval(L(2026, 11, 23).astimezone(UTC), L(2026, 11, 28).astimezone(UTC))
    assert week.minutes == 5 * 1440


# -- Sage: Mon–Fri 08:00–17:00 ----------------------------------------------------------------------

def test_R_T4_sage_one_business_day_is_540_minutes():
    assert SAGE.add(L(2026, 11, 20, 16), 540) == L(2026, 11, 23, 16)
    assert SAGE.add(L(2026, 11, 23, 7), 540) == L(2026, 11, 23, 17)
    assert SAGE.add(L(2026, 11, 23, 8), 1080) == L(2026, 11, 24, 17)
    assert SAGE.is_open(L(2026, 11, 23, 8)) and not STANDARD.is_open(L(2026, 11, 23, 8))


# -- DST -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sunday, spring, next_day", DST_CHANGEOVERS, ids=[str(c[0]) for c in DST_CHANGEOVERS])
def test_R_T5_dst_changeover_days(sunday, spring, next_day):
    y, m, d = sunday.year, sunday.month, sunday.day
    friday, monday = sunday - timedelta(days=2), sunday + timedelta(days=1)
    # across the weekend: Fri 15:00 + 4 h is 11:00 local on the next business day, whatever the
    # offset did in between
    due = STANDARD.add(L(friday.year, friday.month, friday.day, 15), 240)
    assert due.astimezone(WAW).replace(tzinfo=None) == datetime(next_day.year, next_day.month, next_day.day, 11)
    assert due.utcoffset() == timedelta(0)
    assert due.hour == (9 if spring else 10)  # UTC: CEST after spring, CET after autumn
    # an 08:30–16:30 day is 8 h on the changeover Sunday itself
    assert EVERY_DAY_8H.between(L(y, m, d), L(y, m, d) + timedelta(days=2)) == 2 * 480
    (day,) = EVERY_DAY_8H.open_intervals(L(y, m, d), L(y, m, d, 23))
    assert day.start.astimezone(WAW).hour == 8 and day.end.astimezone(WAW).hour == 16
    assert day.minutes == 480
    # round the clock the changeover day has 23 h (spring) or 25 h (autumn)
    start, end = L(y, m, d), L(monday.year, monday.month, monday.day)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23 if spring else 25)
    assert EVERY_DAY_24H.between(start, end) == (23 if spring else 25) * 60
    assert EVERY_DAY_24H.add(start, 24 * 60) == (L(y, m, d, 1) + timedelta(days=1) if spring
                                                  else L(y, m, d, 23))


def test_R_T5_nonexistent_spring_hour_is_never_open():
    night = Calendar.from_spec({"timezone": "Europe/Warsaw", "holidays": None,
                                "weekly": {"sun": [["02:00", "03:00"]]}})
    assert night.between(L(2026, 3, 29), L(2026, 3, 30)) == 0  # 02:00–03:00 does not exist
    assert night.between(L(2026, 10, 25), L(2026, 10, 26)) == 120  # and happens twice in autumn
    assert night.between(L(2026, 3, 22), L(2026, 3, 23)) == 60


# -- R-T2: pauses (waiting for the customer) --------------------------------------------------------

def test_R_T2_pause_inside_an_open_interval_moves_the_due_time():
    start = L(2026, 11, 23, 9)
    assert STANDARD.add(start, 240) == L(2026, 11, 23, 13)
    assert STANDARD.add(start, 240, [(L(2026, 11, 23, 10), L(2026, 11, 23, 11))]) == L(2026, 11, 23, 14)


def test_R_T2_pause_across_open_intervals():
    pause = [(L(2026, 11, 20, 16), L(2026, 11, 23, 9, 30))]  # Fri 16:00 → Mon 09:30
    assert STANDARD.add(L(2026, 11, 20, 15), 240, pause) == L(2026, 11, 23, 12, 30)
    assert STANDARD.between(L(2026, 11, 20, 15), L(2026, 11, 23, 12, 30), pause) == 240


def test_R_T2_pause_outside_hours_changes_nothing_and_overlaps_count_once():
    weekend = [(L(2026, 11, 21, 9), L(2026, 11, 22, 18))]
    assert STANDARD.add(L(2026, 11, 20, 15), 240, weekend) == L(2026, 11, 23, 11)
    overlapping = [(L(2026, 11, 23, 9), L(2026, 11, 23, 10)), (L(2026, 11, 23, 9, 30), L(2026, 11, 23, 10, 30)),
                   (L(2026, 11, 23, 10, 30), L(2026, 11, 23, 11))]
    assert STANDARD.add(L(2026, 11, 23, 8, 30), 60, overlapping) == L(2026, 11, 23, 11, 30)


def test_R_T2_zero_minutes_inside_a_pause_is_its_end():
    pause = [(L(2026, 11, 23, 8), L(2026, 11, 23, 9, 15))]
    assert STANDARD.add(L(2026, 11, 23, 8, 45), 0, pause) == L(2026, 11, 23, 9, 15)
    ending_after_hours = [(L(2026, 11, 23, 16), L(2026, 11, 23, 20))]
    assert STANDARD.add(L(2026, 11, 23, 16, 10), 0, ending_after_hours) == L(2026, 11, 24, 8, 30)


def test_R_T2_pause_that_never_ends_in_the_lists_grows_them():
    pause = [(L(2026, 12, 30, 9), L(2027, 1, 4, 9))]
    assert STANDARD.add(L(2026, 12, 30, 8, 30), 60, pause) == L(2027, 1, 4, 9, 30)


def test_R_T2_explain_names_every_step():
    pause = [(L(2026, 11, 21, 12), L(2026, 11, 23, 10, 30))]
    e = STANDARD.explain(L(2026, 11, 20, 15), 240, pause)
    assert isinstance(e, Explanation)
    assert e.due_at == L(2026, 11, 23, 13) == STANDARD.add(L(2026, 11, 20, 15), 240, pause)
    assert e.text == (
        "due Mon 23 Nov 2026 13:00 CET: accepted Fri 20 Nov 15:00; 1 h 30 min used Fri 20 Nov (15:00–16:30); "
        "paused 2 h Mon 23 Nov 08:30–10:30 (waiting for the customer); 2 h 30 min used Mon 23 Nov (10:30–13:00)")
    assert e.steps == e.text.split(": ", 1)[1].split("; ")
    assert (e.used_minutes, e.paused_minutes) == (240, 120)
    assert str(e) == e.text


def test_R_T5_explain_names_holidays_and_outside_hours():
    e = STANDARD.explain(L(2026, 12, 23, 17), 240)
    assert e.text == (
        "due Mon 28 Dec 2026 12:30 CET: accepted Wed 23 Dec 17:00 (outside support hours); "
        "no support Thu 24 Dec (public holiday: Christmas Eve); no support Fri 25 Dec (public holiday: Christmas Day); "
        "4 h used Mon 28 Dec (08:30–12:30)")
    assert e.holidays == [date(2026, 12, 24), date(2026, 12, 25)]
    free = FREE.explain(L(2026, 3, 27, 15), 1440)
    assert free.text == ("due Mon 30 Mar 2026 15:00 CEST: accepted Fri 27 Mar 15:00; "
                         "9 h used Fri 27 Mar (15:00–24:00); 15 h used Mon 30 Mar (00:00–15:00)")


# -- R-T6 / R-T10: declared closures -----------------------------------------------------------------

def test_R_T6_closure_is_closed_time():
    closure = [(L(2026, 11, 23, 8), L(2026, 11, 23, 12))]  # force majeure, Monday morning
    closed = cal("o365-standard", closures=closure)
    assert not closed.is_open(L(2026, 11, 23, 10)) and closed.is_open(L(2026, 11, 23, 12))
    assert closed.add(L(2026, 11, 20, 15), 240) == L(2026, 11, 23, 14, 30)
    assert closed.next_opening(L(2026, 11, 23, 9)) == L(2026, 11, 23, 12)
    e = closed.explain(L(2026, 11, 20, 15), 240)
    assert "closed 3 h 30 min Mon 23 Nov 08:30–12:00 (declared closure)" in e.steps
    assert closed.closures == ((L(2026, 11, 23, 8).astimezone(UTC), L(2026, 11, 23, 12).astimezone(UTC)),)


def test_R_T10_closures_spanning_days_and_overlapping_each_other():
    closures = [(L(2026, 11, 24, 12), L(2026, 11, 26, 10)), (L(2026, 11, 25, 0), L(2026, 11, 26, 9))]
    closed = cal("o365-standard", closures=closures)
    assert closed.between(L(2026, 11, 23), L(2026, 11, 28)) == 480 + 210 + 0 + 390 + 480
    assert closed.add(L(2026, 11, 24, 11), 120) == L(2026, 11, 26, 11)
    assert [i.minutes for i in closed.open_intervals(L(2026, 11, 24), L(2026, 11, 27))] == [210, 390]


def test_R_T6_closure_and_pause_together():
    closed = cal("o365-standard", closures=[(L(2026, 11, 23, 8, 30), L(2026, 11, 23, 9, 30))])
    pause = [(L(2026, 11, 23, 9), L(2026, 11, 23, 10, 30))]  # overlaps the closure
    assert closed.add(L(2026, 11, 23, 8), 60, pause) == L(2026, 11, 23, 11, 30)
    assert closed.between(L(2026, 11, 23, 8), L(2026, 11, 23, 11, 30), pause) == 60


# -- interface ---------------------------------------------------------------------------------------

def test_between_open_intervals_and_is_open_agree():
    start, end = L(2026, 11, 20, 12, 17), L(2026, 12, 2, 9, 41)
    spans = list(STANDARD.open_intervals(start, end))
    assert spans[0].start == start and all(s.start.tzinfo is UTC for s in spans)
    assert sum(s.minutes for s in spans) == STANDARD.between(start, end)
    assert STANDARD.between(end, start) == 0.0 and list(STANDARD.open_intervals(end, start)) == []


def test_seconds_and_fractional_minutes():
    start = L(2026, 11, 20, 16, 29) + timedelta(seconds=30)
    assert STANDARD.add(start, 1) == L(2026, 11, 23, 8, 30, ) + timedelta(seconds=30)
    assert STANDARD.add(L(2026, 11, 23, 9), 0.5) == L(2026, 11, 23, 9) + timedelta(seconds=30)
    assert STANDARD.between(start, L(2026, 11, 23, 8, 31)) == 1.5


def test_far_dates_grow_the_cached_lists_both_ways():
    assert STANDARD.add(L(2031, 11, 21, 15), 240) == L(2031, 11, 24, 11)  # Friday 21 Nov 2031
    assert STANDARD.add(L(2019, 11, 8, 15), 240) == L(2019, 11, 12, 11)     # Mon 11 Nov 2019 holiday
    assert STANDARD.add(L(2026, 1, 2, 8, 30), 480 * 600) > L(2028, 1, 1)
    far = Calendar.from_spec(plan_calendar_spec("o365-standard")[0])
    far.add(L(2026, 11, 20, 15), 240)
    start = L(2230, 6, 3, 9, 15)  # far from the cached years: a fresh cache, not 200 years of intervals
    assert far.between(start, far.add(start, 240)) == 240
    assert far._state.y1 - far._state.y0 < 5


def test_exact_instants_are_returned_unchanged():
    t = L(2026, 11, 23, 10, 0) + timedelta(microseconds=123457)
    assert STANDARD.next_opening(t) == t and STANDARD.add(t, 0) == t
    assert STANDARD.add(t, 1) == t + timedelta(minutes=1)


@pytest.mark.parametrize("call", [
    lambda: STANDARD.add(datetime(2026, 11, 20, 15), 240),
    lambda: STANDARD.add(L(2026, 11, 20, 15), 240, [(datetime(2026, 11, 20, 15), L(2026, 11, 20, 16))]),
    lambda: STANDARD.is_open(datetime(2026, 11, 20, 15)),
    lambda: STANDARD.next_opening(datetime(2026, 11, 20, 15)),
    lambda: STANDARD.between(L(2026, 11, 20, 15), datetime(2026, 11, 21)),
    lambda: list(STANDARD.open_intervals(datetime(2026, 11, 20), L(2026, 11, 21))),
    lambda: STANDARD.explain(datetime(2026, 11, 20, 15), 240),
    lambda: cal("o365-standard", closures=[(datetime(2026, 11, 20), datetime(2026, 11, 21))]),
    lambda: STANDARD.add(date(2026, 11, 20), 240),
], ids=["add", "pause", "is_open", "next_opening", "between", "open_intervals", "explain", "closure", "date"])
def test_naive_datetimes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("spec", [
    {"timezone": "Europe/Warsaw", "holidays": "PL", "weekly": {"monday": [["08:30", "16:30"]]}},
    {"timezone": "Europe/Warsaw", "holidays": "PL", "weekly": {"mon": [["08:30", "25:00"]]}},
    {"timezone": "Europe/Warsaw", "holidays": "PL", "weekly": {"mon": [["16:30", "08:30"]]}},
    {"timezone": "Europe/Warsaw", "holidays": "PL", "weekly": {"mon": [["24:00", "24:00"]]}},
    {"timezone": "Europe/Warsaw", "holidays": "PL", "weekly": {"mon": ["08:30-16:30"]}},
    {"timezone": "Mars/Olympus", "holidays": "PL", "weekly": {}},
    {"timezone": "Europe/Warsaw", "holidays": "XX", "weekly": {}},
    {"holidays": "PL", "weekly": {}},
])
def test_bad_specs_raise_value_error(spec):
    with pytest.raises(ValueError):
        Calendar.from_spec(spec)


def test_bad_arguments_raise_value_error():
    for minutes in (-1, float("nan"), float("inf"), 10**8):
        with pytest.raises(ValueError):
            STANDARD.add(L(2026, 11, 20, 15), minutes)
    with pytest.raises(ValueError):
        STANDARD.add(L(2026, 11, 20, 15), 10, [(L(2026, 11, 20, 16), L(2026, 11, 20, 15))])
    empty = Calendar.from_spec({"timezone": "Europe/Warsaw", "holidays": None, "weekly": {}})
    assert not empty.is_open(L(2026, 11, 20, 15)) and empty.between(L(2026, 1, 1), L(2027, 1, 1)) == 0
    with pytest.raises(ValueError):
        empty.add(L(2026, 11, 20, 15), 10)


def test_add_is_fast_enough_to_be_a_hot_path():
    """A coarse guard against a minute-by-minute regression; bench/sla_due.py measures properly."""
    starts = [L(2025, 1, 1) + timedelta(minutes=997 * i) for i in range(3000)]
    STANDARD.add(starts[0], 240)
    t = time.perf_counter()
    for s in starts:
        STANDARD.add(s, 240)
    assert (time.perf_counter() - t) / len(starts) < 100e-6
