"""An injectable clock: services never call datetime.now() themselves.

Business dates are Polish (Europe/Warsaw); instants are stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to (tests, replays)."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("FixedClock needs a timezone-aware datetime")
    return at.astimezone(timezone.utc)


def local_date(at: datetime, tz: ZoneInfo = WARSAW) -> date:
    """The calendar date of an instant in the business time zone."""
    return at.astimezone(tz).date()


def today(clock: Clock, tz: ZoneInfo = WARSAW) -> date:
    return local_date(clock.now(), tz)
