"""Property tests of shared/business_time.py against the minute-by-minute reference
(tests/sla/reference.py), for every calendar of the catalogue plus two synthetic DST-edge ones,
over 2025–2027 (R-T2, R-T4, R-T5, R-T6).

Instants are whole UTC minutes. The strategies mix uniformly random instants with hand-picked
ones (every DST changeover and every Polish public holiday of 2025–2027, and their edges), and
every property also runs the explicit @examples built from the same list."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.business_time import Calendar
from tests.sla.reference import CALENDARS, ReferenceCalendar, polish_holidays

WAW = ZoneInfo("Europe/Warsaw")
UTC = timezone.utc
NAMES = list(CALENDARS)
CATALOGUE_NAMES = ["o365-standard", "o365-advanced", "o365-free", "sage"]
ENGINES = {name: Calendar.from_spec(spec, round_the_clock=rtc) for name, (spec, rtc) in CALENDARS.items()}
REFERENCES = {name: ReferenceCalendar(spec, round_the_clock=rtc) for name, (spec, rtc) in CALENDARS.items()}

PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def epoch(local: datetime) -> int:
    return int(local.timestamp())


def at(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


FIRST = epoch(datetime(2025, 1, 1, tzinfo=WAW))
LAST = epoch(datetime(2027, 12, 31, 23, 59, tzinfo=WAW))

DST_SUNDAYS = [date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25),
               date(2027, 3, 28), date(2027, 10, 31)]
HOLIDAYS = sorted(d for d in polish_holidays(range(2025, 2028)))


def _local(d: date, h: int, m: int = 0) -> int:
    return epoch(datetime(d.year, d.month, d.day, h, m, tzinfo=WAW))


def _special_instants() -> list[int]:
    out: set[int] = set()
    for sunday in DST_SUNDAYS:
        transition = epoch(datetime(sunday.year, sunday.month, sunday.day, 1, tzinfo=UTC))
        out |= {transition - 60, transition, transition + 60}
        out |= {_local(sunday - timedelta(days=2), 15), _local(sunday - timedelta(days=1), 22),
                _local(sunday, 0), _local(sunday, 1, 59), _local(sunday, 3), _local(sunday, 8, 30),
                _local(sunday, 16, 29), _local(sunday + timedelta(days=1), 0)}
    for holiday in HOLIDAYS:
        out |= {_local(holiday - timedelta(days=1), 15), _local(holiday - timedelta(days=1), 16, 29),
                _local(holiday, 0), _local(holiday, 10), _local(holiday, 23, 59)}
    return sorted(t for t in out if FIRST <= t <= LAST)


SPECIAL = _special_instants()
instants = st.one_of(st.sampled_from(SPECIAL), st.integers(FIRST // 60, LAST // 60).map(lambda m: m * 60))
targets = st.one_of(st.sampled_from([0, 1, 240, 540, 1080, 1440, 2880]), st.integers(0, 3000))
# pauses relative to the start: (offset, length) in minutes, 0–3 of them, possibly overlapping
relative_spans = st.lists(st.tuples(st.integers(-3000, 10000), st.integers(0, 3000)), max_size=3)


def absolute(start: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(start + off * 60, start + (off + length) * 60) for off, length in spans]


def as_datetimes(spans: list[tuple[int, int]]) -> list[tuple[datetime, datetime]]:
    return [(at(a), at(b)) for a, b in spans]


# Explicit examples: the Friday before each DST changeover and the eve of each holiday, with
# targets and pauses that carry the count across them.
_TARGETS = [240, 3000, 540, 1440, 0, 1080, 2880, 1]
EXAMPLES = [
    dict(start=_local(sunday - timedelta(days=2), 15), minutes=_TARGETS[i % len(_TARGETS)],
         pauses=[] if i % 2 else [(60, 900)])
    for i, sunday in enumerate(DST_SUNDAYS)
] + [
    dict(start=_local(holiday - timedelta(days=1), 15), minutes=_TARGETS[i % len(_TARGETS)],
         pauses=[] if i % 3 else [(30, 120), (2000, 60)])
    for i, holiday in enumerate(HOLIDAYS)
]


def with_examples(make):
    """Apply one @example per entry of EXAMPLES, shaped by `make(entry) -> kwargs`."""
    def decorate(test):
        for entry in EXAMPLES:
            test = example(**make(entry))(test)
        return test
    return decorate


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(start=instants, minutes=targets, pauses=relative_spans)
@with_examples(lambda e: e)
def test_R_T4_add_matches_the_minute_by_minute_reference(name, start, minutes, pauses):
    spans = absolute(start, pauses)
    due = ENGINES[name].add(at(start), minutes, as_datetimes(spans))
    expected = REFERENCES[name].add(start, minutes, spans)
    assert due.timestamp() == expected, (at(start).astimezone(WAW), minutes, spans, due.astimezone(WAW),
                                         at(expected).astimezone(WAW))
    assert due.tzinfo is UTC


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(start=instants, minutes=targets, pauses=relative_spans)
@with_examples(lambda e: e)
def test_R_T2_between_of_add_is_the_target(name, start, minutes, pauses):
    cal, spans = ENGINES[name], as_datetimes(absolute(start, pauses))
    due = cal.add(at(start), minutes, spans)
    assert cal.between(at(start), due, spans) == minutes
    if minutes:  # and it is the earliest such instant: one minute earlier is one minute short
        assert cal.between(at(start), due - timedelta(minutes=1), spans) == minutes - 1
    assert cal.add(at(start), minutes) <= due  # pauses never make it earlier


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(start=instants, m1=targets, m2=targets, pauses=relative_spans)
@with_examples(lambda e: dict(start=e["start"], m1=e["minutes"], m2=e["minutes"] + 1, pauses=e["pauses"]))
def test_R_T4_add_is_monotonic_in_minutes(name, start, m1, m2, pauses):
    cal, spans = ENGINES[name], as_datetimes(absolute(start, pauses))
    lo, hi = sorted((m1, m2))
    assert cal.add(at(start), lo, spans) <= cal.add(at(start), hi, spans)
    if lo < hi:
        assert cal.add(at(start), lo, spans) < cal.add(at(start), hi, spans)
    # and in the start: a later start is never due earlier
    assert cal.add(at(start), lo, spans) <= cal.add(at(start + 60 * 37), lo, spans)


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(instant=instants, second=st.integers(0, 59))
@example(instant=SPECIAL[0], second=0)
@example(instant=SPECIAL[-1], second=59)
def test_R_T5_is_open_and_next_opening_match_the_reference(name, instant, second):
    cal, ref = ENGINES[name], REFERENCES[name]
    t = at(instant) + timedelta(seconds=second)
    open_ = ref.open_minute(instant)
    assert cal.is_open(t) is open_
    expected = t if open_ else at(ref.add(instant + 60, 0))
    assert cal.next_opening(t) == expected
    assert cal.add(t, 0) == expected
    assert cal.is_open(cal.next_opening(t))


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(start=instants, length=st.integers(0, 15000), pauses=relative_spans)
@with_examples(lambda e: dict(start=e["start"], length=4 * 1440, pauses=e["pauses"]))
def test_R_T2_between_matches_the_reference(name, start, length, pauses):
    cal, spans = ENGINES[name], absolute(start, pauses)
    end = start + length * 60
    assert cal.between(at(start), at(end), as_datetimes(spans)) == REFERENCES[name].between(start, end, spans)
    no_pauses = cal.between(at(start), at(end))
    assert sum(i.minutes for i in cal.open_intervals(at(start), at(end))) == no_pauses


@pytest.mark.parametrize("name", CATALOGUE_NAMES)
@PROPERTY
@given(start=instants, minutes=targets, closures=relative_spans, pauses=relative_spans)
@with_examples(lambda e: dict(start=e["start"], minutes=e["minutes"], closures=[(0, 600)], pauses=e["pauses"]))
def test_R_T6_closures_match_the_reference(name, start, minutes, closures, pauses):
    spec, round_the_clock = CALENDARS[name]
    closure_spans, pause_spans = absolute(start, closures), absolute(start, pauses)
    cal = Calendar.from_spec(spec, round_the_clock=round_the_clock, closures=as_datetimes(closure_spans))
    ref = REFERENCES[name]
    due = cal.add(at(start), minutes, as_datetimes(pause_spans))
    assert due.timestamp() == ref.add(start, minutes, pause_spans, closure_spans)
    assert cal.is_open(at(start)) is ref.usable(start, closure_spans)
    end = start + 3 * 1440 * 60
    assert cal.between(at(start), at(end)) == ref.between(start, end, (), closure_spans)
