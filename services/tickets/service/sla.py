"""The ticket's SLA clock on top of the pure engine (shared/business_time.py): due times from
the policy snapshot, replaying the ticket's pauses (R-T2, R-T4, R-T5)."""

from __future__ import annotations

import json

import orjson
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Regime:
    """Where the current plan's clock starts and what was used before it (docs/sla-upgrade.md):
    from acceptance with nothing used, or, after an upgrade while the ticket was open, from the
    moment of the upgrade with the business time already used on the old plan carried over."""

    start: datetime
    used_before: float
    pauses: tuple[Pause, ...]
    carried: dict[str, Any] | None


def regime(policy: dict[str, Any], accepted_at: datetime, pauses: Sequence[Pause] = ()) -> Regime:
    carried = policy.get("carried")
    if not carried:
        return Regime(accepted_at, 0.0, tuple(pauses), None)
    start = datetime.fromisoformat(carried["at"])
    later = tuple((max(s, start), e) for s, e in pauses if e > start)  # pauses before it are in used_before
    return Regime(start, float(carried["used_minutes"]), later, carried)


def _due(cal: Calendar, r: Regime, minutes: float) -> datetime:
    left = minutes - r.used_before
    if r.carried is not None and left <= 0:
        return r.start  # the new target was already used up when the plan changed: due at once
    return cal.add(r.start, left, r.pauses)


def due_times(policy: dict[str, Any], accepted_at: datetime, pauses: Sequence[Pause] = ()) -> DueTimes:
    cal = calendar_for(policy)
    r = regime(policy, accepted_at, pauses)
    limit = policy["reaction"].get("limit_minutes")
    return DueTimes(_due(cal, r, target_minutes(policy)), _due(cal, r, limit) if limit else None)


def explain(policy: dict[str, Any], accepted_at: datetime, pauses: Sequence[Pause] = ()) -> Explanation:
    """How the reaction deadline is reached, step by step in local time (pure: computed when
    someone reads it, so it always reflects the pauses so far)."""
    cal = calendar_for(policy)
    r = regime(policy, accepted_at, pauses)
    if r.carried is None:
        return cal.explain(accepted_at, target_minutes(policy), pauses)
    left = max(0.0, target_minutes(policy) - r.used_before)
    found = cal.explain(r.start, left, r.pauses)
    carried = (f"{r.used_before:.0f} business minutes used on plan {r.carried['from_plan_id']} before the change "
               f"to {policy['plan_id']} at {r.start.isoformat()}; {left:.0f} left of its {target_minutes(policy)}")
    due_at = r.start if target_minutes(policy) <= r.used_before else found.due_at
    return replace(found, due_at=due_at, steps=[carried, *found.steps], used_minutes=found.used_minutes + r.used_before,
                   text=f"{carried}; {found.text}")


def minutes_used(policy: dict[str, Any], accepted_at: datetime, until: datetime, pauses: Sequence[Pause] = ()) -> float:
    """Business minutes used towards the current plan's target by `until`, carry-over included."""
    r = regime(policy, accepted_at, pauses)
    return r.used_before + calendar_for(policy).between(r.start, until, r.pauses)
