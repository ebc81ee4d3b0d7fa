"""A deliberately naive reference for `shared.business_time`, used by the property tests only.

It knows nothing of intervals: it decides, for each UTC minute separately, whether that minute is
open by converting it to local wall-clock time and applying the plan's rules literally (weekday
in the weekly spec, local date not a Polish public holiday, local time of day inside an opening
interval, or any time of a business day for round-the-clock calendars; minute not inside a
closure). `add` then walks minute by minute. All instants are whole UTC minutes (epoch seconds
divisible by 60); every boundary in these tests is on a whole minute, so a minute is open as a
whole or not at all.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import yaml

CATALOGUE = Path(__file__).resolve().parents[2] / "services" / "entitlements" / "data" / "catalogue.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_STEPS = 200 * 24 * 60  # a walk longer than 200 days means a bug in the test, not a result


def catalogue_calendars() -> dict[str, dict]:
    return yaml.safe_load(CATALOGUE.read_text())["calendars"]


def polish_holidays(years: range) -> set[date]:
    """The rule, stated independently of the engine: the `holidays` package's Polish public
    holidays, plus 24 December from 2025 on (statutory since the Act of 6 Dec 2024)."""
    found = set(holidays.country_holidays("PL", years=list(years)))
    return found | {date(y, 12, 24) for y in years if y >= 2025}


def _hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


class ReferenceCalendar:
    def __init__(self, spec: dict, *, round_the_clock: bool = False):
        self.tz = ZoneInfo(spec["timezone"])
        self.weekly = {WEEKDAYS.index(day): [(_hhmm(a), _hhmm(b)) for a, b in spans]
                       for day, spans in spec["weekly"].items() if spans}
        self.round_the_clock = round_the_clock
        self.holidays = polish_holidays(range(2023, 2031)) if spec.get("holidays") == "PL" else set()
        self._chunks: dict[int, bytearray] = {}

    def _rule(self, u: int) -> bool:
        local = datetime.fromtimestamp(u, self.tz)
        spans = self.weekly.get(local.weekday())
        if not spans or local.date() in self.holidays:
            return False
        if self.round_the_clock:
            return True
        minute_of_day = local.hour * 60 + local.minute
        return any(a <= minute_of_day < b for a, b in spans)

    def open_minute(self, u: int) -> bool:
        """Is the UTC minute starting at epoch second `u` open (closures not considered)?"""
        day, m = divmod(u // 60, 1440)
        chunk = self._chunks.get(day)
        if chunk is None:  # memoise per UTC day; each minute still decided by the rule alone
            chunk = self._chunks[day] = bytearray(self._rule((day * 1440 + i) * 60) for i in range(1440))
        return bool(chunk[m])

    def usable(self, u: int, *closed: list[tuple[int, int]]) -> bool:
        return self.open_minute(u) and not any(a <= u < b for spans in closed for a, b in spans)

    def add(self, start: int, minutes: int, pauses=(), closures=()) -> int:
        assert start % 60 == 0
        u, steps = start, 0
        if minutes == 0:
            while not self.usable(u, pauses, closures):
                u += 60
                steps += 1
                assert steps < MAX_STEPS
            return u
        count = 0
        while True:
            if self.usable(u, pauses, closures):
                count += 1
                if count == minutes:
                    return u + 60
            u += 60
            steps += 1
            assert steps < MAX_STEPS

    def between(self, start: int, end: int, pauses=(), closures=()) -> int:
        return sum(self.usable(u, pauses, closures) for u in range(start, end, 60))


def catalogue_plans() -> dict[str, dict]:
    products = yaml.safe_load(CATALOGUE.read_text())["products"]
    return {plan["id"]: plan for product in products for plan in product["plans"]}


def plan_calendar_spec(plan_id: str) -> tuple[dict, bool]:
    """(support_hours, round_the_clock) of a catalogue plan, as the tickets service will pass them."""
    plan = catalogue_plans()[plan_id]
    return plan["support_hours"], plan["reaction"]["mode"] == "business_days_round_the_clock"


# Synthetic calendars that put opening-interval edges inside the DST hours (02:00–03:00 local),
# where a wall-clock time does not exist (spring) or occurs twice (autumn); and a round-the-clock
# calendar open on Sundays, so that the 23 h and 25 h changeover days count.
NIGHT_DST = {
    "timezone": "Europe/Warsaw", "holidays": "PL",
    "weekly": {
        "sat": [["22:00", "24:00"]],
        "sun": [["00:00", "02:30"], ["02:45", "03:15"], ["08:30", "16:30"]],
        "mon": [["00:00", "01:00"], ["02:00", "02:59"]],
        "wed": [["08:30", "16:30"]],
    },
}
EVERY_DAY = {
    "timezone": "Europe/Warsaw", "holidays": "PL",
    "weekly": {day: [["08:30", "16:30"]] for day in WEEKDAYS},
}

CALENDARS: dict[str, tuple[dict, bool]] = {
    "o365-standard": plan_calendar_spec("o365-standard"),
    "o365-advanced": plan_calendar_spec("o365-advanced"),
    "o365-free": plan_calendar_spec("o365-free"),
    "sage": plan_calendar_spec("sage-warranty-komfort"),
    "night-dst": (NIGHT_DST, False),
    "every-day-round-the-clock": (EVERY_DAY, True),
}
