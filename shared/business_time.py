"""SLA business time: a plan's support-hours calendar and arithmetic on it. Pure: no I/O.

    cal = Calendar.from_spec(plan["support_hours"])                       # R-T4, R-T5
    due = cal.add(accepted_at, 240, pauses=waiting_for_customer)           # R-T2 pauses
    cal.between(accepted_at, first_response_at, pauses)                    # minutes used
    cal.explain(accepted_at, 240, pauses).text                             # "due Mon 23 Nov 2026 …"

The calendar is the plan's weekly opening intervals per weekday in the plan's time zone, minus
the country's public holidays (shared/public_holidays.py: Poland including 24 December from 2025
on) and minus declared closures (force majeure, security pauses: R-T6, R-T10). With
`round_the_clock=True` every business day is open 00:00–24:00 local time (o365-free: its 24 h
estimate / 48 h limit count business days round the clock).

Semantics (all intervals half-open, `[start, end)`):
- an instant is open when its *local wall-clock time* falls in an opening interval of its local
  date, that date is not a holiday, and the instant is outside every closure. Each day's
  intervals are built in local time and converted to UTC piece by piece around a UTC-offset
  change, so an 08:30–16:30 day is 8 h on both DST changeover days, a round-the-clock
  spring-forward day is 23 h and a fall-back day 25 h, and wall times that do not exist
  (02:00–03:00 in spring) are simply never open;
- `add(start, m)` for m > 0 is the earliest instant by which m minutes of open time, outside the
  pauses, have elapsed since `start` (so it may be the very end of an opening interval); a start
  outside hours starts counting at the next opening (R-T4). `add(start, 0)` is the next open
  instant at or after `start` outside the pauses;
- `between(start, end)` is the open time in `[start, end)` minus the pauses, in minutes.

Speed (a hot path: every ticket and every queue row): the open intervals of whole local years
are kept as sorted lists of UTC epoch seconds with the running total of open seconds before
each interval, so `add` and `between` are two binary searches and no datetime arithmetic; the
lists are built on first use and grown when a query leaves them. Closures are baked into the
lists; pauses are mapped into "open-seconds" positions and walked over (a handful per ticket).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterator, Mapping, NamedTuple, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.public_holidays import public_holidays

__all__ = ["Calendar", "Explanation", "Interval", "WEEKDAYS"]

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = 86_400
_ONE_DAY = timedelta(days=1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MAX_MINUTES = 10 * 366 * 1440  # ten years round the clock: anything above is a caller's bug
_FAR_YEARS = 25  # a query this far from the cached years starts a fresh cache instead of spanning the gap
_MIN_YEAR, _MAX_YEAR = 2, 9997  # keeps every local midnight we touch representable


class Interval(NamedTuple):
    """An open stretch of the calendar, as aware UTC datetimes, `[start, end)`."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True)
class Explanation:
    """Why a due time is what it is: `text` is `"due <local time>: " + "; ".join(steps)`."""

    due_at: datetime
    steps: list[str]
    text: str
    used_minutes: float = 0.0
    paused_minutes: float = 0.0
    holidays: list[date] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


def _epoch(at: datetime, what: str = "datetime") -> float:
    """Aware datetime → UTC epoch seconds; naive (or not a datetime) → ValueError."""
    if not isinstance(at, datetime):
        raise ValueError(f"{what} must be a timezone-aware datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    return at.timestamp()


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _merge(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, non-empty, overlapping-or-touching spans merged."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(s for s in spans if s[0] < s[1]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _spans(pairs: Sequence[tuple[datetime, datetime]], what: str) -> list[tuple[float, float]]:
    raw = []
    for pair in pairs:
        try:
            a, b = pair
        except (TypeError, ValueError):
            raise ValueError(f"each {what} must be a (start, end) pair") from None
        ta, tb = _epoch(a, f"{what} start"), _epoch(b, f"{what} end")
        if tb < ta:
            raise ValueError(f"{what} ends before it starts: {a.isoformat()} > {b.isoformat()}")
        raw.append((ta, tb))
    return _merge(raw)


def _subtract(intervals: list[tuple[float, float]], holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted disjoint `intervals` minus sorted disjoint `holes`."""
    if not holes:
        return intervals
    out: list[tuple[float, float]] = []
    k, n = 0, len(holes)
    for a, b in intervals:
        while k < n and holes[k][1] <= a:
            k += 1
        j = k
        while a < b and j < n and holes[j][0] < b:
            ha, hb = holes[j]
            if ha > a:
                out.append((a, ha))
            a = max(a, hb)
            j += 1
        if a < b:
            out.append((a, b))
    return out


def _parse_hhmm(value: object, *, end: bool) -> int:
    if end and value == "24:00":
        return _DAY
    m = _HHMM.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"bad time {value!r}: expected 'HH:MM'" + (" or '24:00'" if end else ""))
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60


def _fmt_duration(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts = ([f"{h} h"] if h else []) + ([f"{m} min"] if m else []) + ([f"{sec} s"] if sec else [])
    return " ".join(parts) or "0 min"


class _Span:
    """Open intervals of local years [y0, y1] as parallel lists (UTC epoch seconds).

    cum[i] = open seconds before interval i, cumend[i] = cum[i] + its length. Never mutated
    after construction (a grown calendar gets a new _Span), so readers need no lock."""

    __slots__ = ("y0", "y1", "lo", "hi", "starts", "ends", "cum", "cumend", "total")

    def __init__(self, y0: int, y1: int, lo: float, hi: float, intervals: list[tuple[float, float]]):
        self.y0, self.y1, self.lo, self.hi = y0, y1, lo, hi
        self.starts = [a for a, _ in intervals]
        self.ends = [b for _, b in intervals]
        cum, cumend, run = [], [], 0.0
        for a, b in intervals:
            cum.append(run)
            run += b - a
            cumend.append(run)
        self.cum, self.cumend, self.total = cum, cumend, run

    def pos(self, t: float) -> float:
        """Open seconds in [lo, t) (t within [lo, hi])."""
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0.0
        e = self.ends[i]
        return self.cum[i] + (t if t < e else e) - self.starts[i]


class Calendar:
    """A plan's support-hours calendar (immutable; its interval cache grows on demand).

    Build it with `Calendar.from_spec(plan_support_hours)`. All inputs must be aware datetimes
    (naive ones raise ValueError); all outputs are aware UTC datetimes."""

    __slots__ = ("_tzname", "_tz", "_country", "_round_the_clock", "_weekly", "_closures",
                 "_closure_spans", "_holiday_cache", "_state")

    def __init__(self, *, timezone: str, weekly: Mapping[int, Sequence[tuple[int, int]]],
                 country: str | None = None, round_the_clock: bool = False,
                 closures: Sequence[tuple[datetime, datetime]] = ()):
        """Low-level constructor: `weekly` maps weekday (0 = Monday) to (start, end) seconds of
        the local day. Prefer `from_spec`."""
        try:
            self._tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self._tzname = timezone
        days: list[tuple[tuple[int, int], ...]] = []
        for wd in range(7):
            spans = [(int(a), int(b)) for a, b in weekly.get(wd, ())]
            for a, b in spans:
                if not 0 <= a < b <= _DAY:
                    raise ValueError(f"bad opening interval on {WEEKDAYS[wd]}: {a}–{b} s")
            days.append(tuple((int(a), int(b)) for a, b in _merge(spans)))
        self._weekly = tuple(days)
        self._round_the_clock = bool(round_the_clock)
        self._holiday_cache: dict[int, dict[date, str]] = {}
        self._country = country
        if country is not None:
            try:
                self.holidays_in(2026)
            except (NotImplementedError, KeyError, AttributeError):
                raise ValueError(f"the holidays package has no country {country!r}") from None
        self._closure_spans = _spans(closures, "closure")
        self._closures = tuple((_utc(a), _utc(b)) for a, b in self._closure_spans)
        self._state: _Span | None = None

    @classmethod
    def from_spec(cls, support_hours: Mapping, *, round_the_clock: bool = False,
                  closures: Sequence[tuple[datetime, datetime]] = ()) -> Calendar:
        """From a plan's `support_hours` JSON: {"timezone": "Europe/Warsaw", "holidays": "PL" |
        None, "weekly": {"mon": [["08:30", "16:30"]], ...}} ("24:00" allowed as an end)."""
        if not isinstance(support_hours, Mapping):
            raise ValueError("support_hours must be a mapping")
        unknown = set(support_hours) - {"timezone", "holidays", "weekly"}
        if unknown:
            raise ValueError(f"unknown support_hours keys: {sorted(unknown)}")
        tzname = support_hours.get("timezone")
        if not isinstance(tzname, str):
            raise ValueError("support_hours.timezone is required, e.g. 'Europe/Warsaw'")
        country = support_hours.get("holidays")
        if country is not None and not isinstance(country, str):
            raise ValueError("support_hours.holidays must be a country code such as 'PL', or null")
        weekly_spec = support_hours.get("weekly") or {}
        if not isinstance(weekly_spec, Mapping):
            raise ValueError("support_hours.weekly must map weekdays to interval lists")
        weekly: dict[int, list[tuple[int, int]]] = {}
        for name, spans in weekly_spec.items():
            if name not in WEEKDAYS:
                raise ValueError(f"unknown weekday {name!r}: expected one of {', '.join(WEEKDAYS)}")
            parsed = []
            for span in spans or ():
                if not isinstance(span, (list, tuple)) or len(span) != 2:
                    raise ValueError(f"bad interval {span!r} on {name}: expected ['HH:MM', 'HH:MM']")
                a, b = _parse_hhmm(span[0], end=False), _parse_hhmm(span[1], end=True)
                if a >= b:
                    raise ValueError(f"interval {span!r} on {name} ends before it starts")
                parsed.append((a, b))
            weekly[WEEKDAYS.index(name)] = parsed
        return cls(timezone=tzname, weekly=weekly, country=country,
                   round_the_clock=round_the_clock, closures=closures)

    # -- read-only description ------------------------------------------------------------
    @property
    def timezone(self) -> str:
        return self._tzname

    @property
    def country(self) -> str | None:
        return self._country

    @property
    def round_the_clock(self) -> bool:
        return self._round_the_clock

    @property
    def closures(self) -> tuple[tuple[datetime, datetime], ...]:
        return self._closures

    @property
    def weekly(self) -> dict[str, tuple[tuple[str, str], ...]]:
        def hhmm(s: int) -> str:
            return f"{s // 3600:02d}:{s % 3600 // 60:02d}"
        return {WEEKDAYS[wd]: tuple((hhmm(a), hhmm(b)) for a, b in spans)
                for wd, spans in enumerate(self._weekly) if spans}

    def __repr__(self) -> str:
        return (f"Calendar(timezone={self._tzname!r}, holidays={self._country!r}, weekly={self.weekly!r}, "
                f"round_the_clock={self._round_the_clock}, closures={len(self._closures)})")

    def holidays_in(self, year: int) -> dict[date, str]:
        """The public holidays of `year` this calendar closes on (date → name)."""
        return dict(self._holidays(year))

    def _holidays(self, year: int) -> dict[date, str]:
        found = self._holiday_cache.get(year)
        if found is None:
            found = {}
            if self._country is not None:
                found = dict(public_holidays(self._country, year))
            self._holiday_cache[year] = found
        return found

    # -- building the interval lists ------------------------------------------------------
    def _midnight(self, d: date) -> int:
        """UTC epoch of the first instant of local date `d`."""
        return round(datetime(d.year, d.month, d.day, tzinfo=self._tz).timestamp())

    def _offset(self, t: float) -> int:
        off = datetime.fromtimestamp(t, self._tz).utcoffset()
        return off.days * _DAY + off.seconds

    def _offset_segments(self, u0: int, u1: int) -> list[tuple[int, int, int]]:
        """[u0, u1) cut where the UTC offset changes: (from, to, offset) pieces."""
        out = []
        a = u0
        while a < u1:
            off = self._offset(a)
            if self._offset(u1 - 1) == off:
                out.append((a, u1, off))
                break
            lo, hi = a, u1 - 1  # off(lo) == off != off(hi): find the first second that differs
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self._offset(mid) == off:
                    lo = mid
                else:
                    hi = mid
            out.append((a, hi, off))
            a = hi
        return out

    def _weekly_day(self, d: date) -> list[tuple[int, int]]:
        """Open intervals of local date `d` from the weekly spec alone (no holidays, no
        closures), in UTC epoch seconds: local wall-clock intervals intersected with each
        constant-offset piece of the day, so DST days are exact."""
        spec = self._weekly[d.weekday()]
        if not spec:
            return []
        if self._round_the_clock:
            spec = ((0, _DAY),)
        base = (d.toordinal() - _EPOCH_ORDINAL) * _DAY  # local midnight read as if it were UTC
        u0, u1 = self._midnight(d), self._midnight(d + _ONE_DAY)
        if u1 - u0 == _DAY and self._offset(u0) == self._offset(u1 - 1):
            off = base - u0
            return [(base + s - off, base + e - off) for s, e in spec]
        out = []
        for a, b, off in self._offset_segments(u0, u1):
            for s, e in spec:
                lo, hi = max(base + s - off, a), min(base + e - off, b)
                if lo < hi:
                    out.append((lo, hi))
        return _merge(out)

    def _build(self, y0: int, y1: int) -> _Span:
        if y0 < _MIN_YEAR or y1 > _MAX_YEAR:
            raise ValueError(f"business time is supported for the years {_MIN_YEAR}–{_MAX_YEAR} only")
        intervals: list[tuple[float, float]] = []
        d, stop = date(y0, 1, 1), date(y1 + 1, 1, 1)
        while d < stop:
            if self._weekly[d.weekday()] and d not in self._holidays(d.year):
                for a, b in self._weekly_day(d):
                    if intervals and intervals[-1][1] >= a:
                        intervals[-1] = (intervals[-1][0], max(b, intervals[-1][1]))
                    else:
                        intervals.append((a, b))
            d += _ONE_DAY
        intervals = _subtract(intervals, self._closure_spans)
        return _Span(y0, y1, self._midnight(date(y0, 1, 1)), self._midnight(stop), intervals)

    def _covering(self, t0: float, t1: float | None = None) -> _Span:
        """The interval lists, grown (if needed) so that [t0, t1] lies inside them."""
        if t1 is None:
            t1 = t0
        st = self._state
        if st is not None and st.lo <= t0 and t1 < st.hi:
            return st
        y_lo = _utc_year(t0) - 1
        y_hi = _utc_year(t1) + 1
        if st is not None and y_lo <= st.y1 + _FAR_YEARS and y_hi >= st.y0 - _FAR_YEARS:
            y_lo, y_hi = min(y_lo, st.y0), max(y_hi, st.y1)
        st = self._build(max(y_lo, _MIN_YEAR), min(y_hi, _MAX_YEAR))
        if not (st.lo <= t0 and t1 < st.hi):
            raise ValueError("instant outside the supported range of years")
        self._state = st
        return st

    def _grow(self, st: _Span, need_seconds: float) -> _Span:
        """Extend the lists forward by enough years for about `need_seconds` more open time."""
        if not any(self._weekly):
            raise ValueError("the calendar has no support hours: no business time ever elapses")
        years = st.y1 - st.y0 + 1
        per_year = st.total / years
        add = 1 if per_year <= 0 else max(1, math.ceil(need_seconds / per_year))
        if st.y1 >= _MAX_YEAR:
            raise ValueError("business time beyond the supported range of years")
        new = self._build(st.y0, min(st.y1 + add, _MAX_YEAR))
        self._state = new
        return new

    # -- queries --------------------------------------------------------------------------
    def is_open(self, at: datetime) -> bool:
        t = _epoch(at, "at")
        st = self._state
        if st is None or not (st.lo <= t < st.hi):
            st = self._covering(t)
        i = bisect_right(st.starts, t) - 1
        return i >= 0 and t < st.ends[i]

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself (in UTC) when open, else the start of the next open interval."""
        t = _epoch(at, "at")
        found = self._next_open(t)
        return at.astimezone(UTC) if found == t else _utc(found)

    def _next_open(self, t: float) -> float:
        st = self._covering(t)
        while True:
            i = bisect_right(st.ends, t)
            if i < len(st.ends):
                s = st.starts[i]
                return t if t > s else s
            st = self._grow(st, 1.0)

    def add(self, start: datetime, minutes: float,
            pauses: Sequence[tuple[datetime, datetime]] = ()) -> datetime:
        """The instant by which `minutes` of business time, outside `pauses`, have elapsed
        after `start`; `minutes == 0` → the next open instant at or after `start`."""
        t = _epoch(start, "start")
        if not 0 <= minutes < _MAX_MINUTES:
            raise ValueError(f"minutes must be ≥ 0 and below {_MAX_MINUTES} (ten years round the clock), "
                             f"got {minutes!r}")
        need = float(minutes) * 60.0
        if pauses:
            return _utc(self._add_paused(t, need, _spans(pauses, "pause")))
        st = self._state
        if st is None or not (st.lo <= t < st.hi):
            st = self._covering(t)
        while True:
            ends = st.ends
            i = bisect_right(ends, t)  # the first interval that ends after t
            if i < len(ends):
                s = st.starts[i]
                if need == 0:
                    return start.astimezone(UTC) if t >= s else _utc(s)
                x = st.cum[i] + (t - s if t > s else 0.0) + need
                cumend = st.cumend
                if x <= cumend[-1]:
                    j = bisect_left(cumend, x, i)
                    return _utc(st.starts[j] + (x - st.cum[j]))
                st = self._grow(st, x - cumend[-1])
            else:
                st = self._grow(st, need or 1.0)

    def _add_paused(self, t: float, need: float, pauses: list[tuple[float, float]]) -> float:
        st = self._covering(t)
        while True:
            p0 = st.pos(t)
            # pauses as stretches of "open-seconds position" (a pause over closed time vanishes)
            ppos = _merge([(st.pos(max(a, t)), st.pos(min(b, st.hi))) for a, b in pauses if b > t and a < st.hi])
            x = p0
            if need == 0:
                for pa, pb in ppos:
                    if pa <= x < pb:
                        x = pb
                if x < st.total:
                    j = bisect_right(st.cumend, x)
                    return st.starts[j] + (x - st.cum[j])
                st = self._grow(st, 1.0)
                continue
            rest = need
            for pa, pb in ppos:
                if pb <= x:
                    continue
                if pa > x:
                    if rest <= pa - x:
                        break
                    rest -= pa - x
                x = pb
            x += rest
            if x <= st.total:  # a pause running past the lists ends at `total`: x > total then
                j = bisect_left(st.cumend, x)
                return st.starts[j] + (x - st.cum[j])
            st = self._grow(st, max(x - st.total, 1.0))

    def between(self, start: datetime, end: datetime,
                pauses: Sequence[tuple[datetime, datetime]] = ()) -> float:
        """Business minutes in [start, end) minus the pauses (0.0 when end ≤ start)."""
        t0, t1 = _epoch(start, "start"), _epoch(end, "end")
        spans = _spans(pauses, "pause") if pauses else ()
        if t1 <= t0:
            return 0.0
        st = self._covering(t0, t1)
        total = st.pos(t1) - st.pos(t0)
        for a, b in spans:
            a, b = max(a, t0), min(b, t1)
            if a < b:
                total -= st.pos(b) - st.pos(a)
        return total / 60.0

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Interval]:
        """The open intervals (calendar minus holidays and closures) clipped to [start, end)."""
        t0, t1 = _epoch(start, "start"), _epoch(end, "end")
        if t1 <= t0:
            return iter(())
        st = self._covering(t0, t1)
        return self._iter_open(st, t0, t1)

    @staticmethod
    def _iter_open(st: _Span, t0: float, t1: float) -> Iterator[Interval]:
        starts, ends = st.starts, st.ends
        i = bisect_right(ends, t0)
        while i < len(starts) and starts[i] < t1:
            a, b = starts[i], ends[i]
            yield Interval(_utc(a if a > t0 else t0), _utc(b if b < t1 else t1))
            i += 1

    # -- explanation ----------------------------------------------------------------------
    def explain(self, start: datetime, minutes: float,
                pauses: Sequence[tuple[datetime, datetime]] = ()) -> Explanation:
        """The due time and, in local time, how it was reached: the time used per day, pauses
        (waiting for the customer), holidays and declared closures on the way."""
        due = self.add(start, minutes, pauses)
        t0, t1 = _epoch(start), due.timestamp()
        pause_spans = _spans(pauses, "pause")
        tz = self._tz
        first = datetime.fromtimestamp(t0, tz)
        steps = [f"accepted {_fmt_day(first)} {_fmt_time(first)}"]
        if not self._is_open_at(t0):
            steps[0] += " (outside support hours)"
        elif any(a <= t0 < b for a, b in pause_spans):
            steps[0] += " (waiting for the customer)"

        events: list[tuple[str, date, float, float, str]] = []  # kind, local day, from, to, note
        holiday_days: list[date] = []
        d, last = first.date(), datetime.fromtimestamp(t1, tz).date()
        while d <= last:
            if self._weekly[d.weekday()] and d in self._holidays(d.year):
                holiday_days.append(d)
                events.append(("holiday", d, 0.0, 0.0, self._holidays(d.year)[d]))
            else:
                for a, b in self._weekly_day(d):
                    a, b = max(a, t0), min(b, t1)
                    if a >= b:
                        continue
                    closed = [(max(a, ca), min(b, cb)) for ca, cb in self._closure_spans if ca < b and cb > a]
                    for ca, cb in closed:
                        events.append(("closed", d, ca, cb, ""))
                    for oa, ob in _subtract([(a, b)], closed):
                        paused = [(max(oa, pa), min(ob, pb)) for pa, pb in pause_spans if pa < ob and pb > oa]
                        for pa, pb in paused:
                            events.append(("paused", d, pa, pb, ""))
                        for ua, ub in _subtract([(oa, ob)], paused):
                            events.append(("used", d, ua, ub, ""))
            d += _ONE_DAY
        events.sort(key=lambda e: (e[2] if e[0] != "holiday" else self._midnight(e[1]), e[0] != "holiday"))

        used = paused_total = 0.0
        groups: list[list[tuple[str, date, float, float, str]]] = []
        for ev in events:
            if ev[0] != "holiday" and groups and groups[-1][0][0] == ev[0] and groups[-1][0][1] == ev[1]:
                groups[-1].append(ev)
            else:
                groups.append([ev])
        for group in groups:
            kind, day = group[0][0], group[0][1]
            label = f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]}"
            if kind == "holiday":
                steps.append(f"no support {label} (public holiday: {group[0][4]})")
                continue
            seconds = sum(b - a for _, _, a, b, _ in group)
            ranges = ", ".join(f"{self._fmt_at(a, day)}–{self._fmt_at(b, day)}" for _, _, a, b, _ in group)
            if kind == "used":
                used += seconds
                steps.append(f"{_fmt_duration(seconds)} used {label} ({ranges})")
            elif kind == "paused":
                paused_total += seconds
                steps.append(f"paused {_fmt_duration(seconds)} {label} {ranges} (waiting for the customer)")
            else:
                steps.append(f"closed {_fmt_duration(seconds)} {label} {ranges} (declared closure)")
        local_due = datetime.fromtimestamp(t1, tz)
        head = (f"due {_fmt_day(local_due)} {local_due.year} {_fmt_time(local_due)} "
                f"{local_due.tzname()}")
        return Explanation(due_at=due, steps=steps, text=f"{head}: " + "; ".join(steps),
                           used_minutes=used / 60.0, paused_minutes=paused_total / 60.0,
                           holidays=holiday_days)

    def _is_open_at(self, t: float) -> bool:
        st = self._covering(t)
        i = bisect_right(st.starts, t) - 1
        return i >= 0 and t < st.ends[i]

    def _fmt_at(self, t: float, day: date) -> str:
        local = datetime.fromtimestamp(t, self._tz)
        if local.date() > day and local.hour == local.minute == local.second == 0:
            return "24:00"
        return _fmt_time(local)


def _utc_year(t: float) -> int:
    try:
        return datetime.fromtimestamp(t, UTC).year
    except (OverflowError, OSError, ValueError):
        raise ValueError("instant outside the supported range of years") from None


def _fmt_day(local: datetime) -> str:
    return f"{_DAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]}"


def _fmt_time(local: datetime) -> str:
    text = f"{local.hour:02d}:{local.minute:02d}"
    return text + f":{local.second:02d}" if local.second else text
