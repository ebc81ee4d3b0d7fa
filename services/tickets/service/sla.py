"""The ticket's SLA clock on top of the pure engine (shared/business_time.py): due times from
the policy snapshot, replaying the ticket's pauses (R-T2, R-T4, R-T5)."""

from __future__ import annotations

import json

import orjson
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Sequence

from shared.business_time import Calendar, Explanation

Pause = tuple[datetime, datetime]
ROUND_THE_CLOCK = "business_days_round_the_clock"


@lru_cache(maxsize=64)
def _calendar(spec_json: str, round_the_clock: bool) -> Calendar:
    return Calendar.from_spec(json.loads(spec_json), round_the_clock=round_the_clock)


def calendar_for(policy: dict[str, Any]) -> Calendar:
    """The calendar the reaction time is counted in (cached: calendars are immutable)."""
    rtc = policy["reaction"]["mode"] == ROUND_THE_CLOCK
    return _calendar(_key(policy["support_hours"]), rtc)


def hours_calendar(policy: dict[str, Any]) -> Calendar:
    """The plan's support hours themselves (warnings are raised only while these are open)."""
    return _calendar(_key(policy["support_hours"]), False)


def _key(spec: dict[str, Any]) -> str:
    return orjson.dumps(spec, option=orjson.OPT_SORT_KEYS).decode()


def target_minutes(policy: dict[str, Any]) -> int:
    reaction = policy["reaction"]
    return int(reaction.get("target_minutes") or reaction.get("estimate_minutes"))


@dataclass(frozen=True)
class DueTimes:
    reaction_due_at: datetime
    limit_due_at: datetime | None


def due_times(policy: dict[str, Any], accepted_at: datetime, pauses: Sequence[Pause] = ()) -> DueTimes:
    cal = calendar_for(policy)
    limit = policy["reaction"].get("limit_minutes")
    return DueTimes(cal.add(accepted_at, target_minutes(policy), pauses),
                    cal.add(accepted_at, limit, pauses) if limit else None)


def explain(policy: dict[str, Any], accepted_at: datetime, pauses: Sequence[Pause] = ()) -> Explanation:
    """How the reaction deadline is reached, step by step in local time (pure: computed when
    someone reads it, so it always reflects the pauses so far)."""
    return calendar_for(policy).explain(accepted_at, target_minutes(policy), pauses)


def minutes_used(policy: dict[str, Any], accepted_at: datetime, until: datetime, pauses: Sequence[Pause] = ()) -> float:
    return calendar_for(policy).between(accepted_at, until, pauses)
