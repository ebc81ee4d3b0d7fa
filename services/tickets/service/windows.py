"""Deadlines of complaints, pure (no I/O): the R-S5 window for complaints about a remote-help
session, and the R-T9 answer dates.

Dates of the answer period are Polish calendar dates (Europe/Warsaw). "30 days from receipt" is
counted as civil-law periods in days are (art. 111 of the Civil Code): the day of receipt is not
counted, and the period ends with the end of its last day; so a complaint received on 23 Nov is
due on 23 Dec and becomes overdue on 24 Dec **(interpretation)**.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.business_time import Calendar
from shared.clock import local_date

ANSWER_DAYS = 30  # R-T9: answered at the latest 30 days from receipt
MAX_EXTENSION_DAYS = 60  # R-T9: in complex cases an expected date at most 60 days from receipt


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of a local day and of the next one (aware; DST days are 23 or 25 h)."""
    return datetime.combine(day, time(0), tzinfo=tz), datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def closing_time(calendar: Calendar, day: date) -> datetime | None:
    """The end of the day's last open interval of the calendar (None: not a business day)."""
    start, end = _day_bounds(day, ZoneInfo(calendar.timezone))
    intervals = list(calendar.open_intervals(start, end))
    return intervals[-1].end if intervals else None


def session_complaint_deadline(calendar: Calendar, started_at: datetime, minutes: int) -> datetime:
    """R-S5: a complaint about a remote-help session must be filed by the end of the business day
    on which the session took place. **Interpretation**, on the plan's support-hours calendar (its
    time zone, Europe/Warsaw; Polish holidays; Saturdays only where the plan has them):

    - the session "took place" when it ended (`started_at + minutes`): a deadline must never fall
      before the session is over;
    - the "end of the business day" is the end of that day's last open interval (17:00 for the
      Sage 08:00–17:00 hours), not midnight;
    - a session that ended while that day's hours were still to close (inside the hours, or
      before they opened) → the end of that same day's hours;
    - a session that ended outside hours — after closing, on a weekend or a holiday — → the end
      of the hours of the next business day (the day of the next opening).

    Returns the deadline as an aware UTC instant; a complaint received at or before it is in time.
    """
    ended = started_at + timedelta(minutes=minutes)
    tz = ZoneInfo(calendar.timezone)
    closing = closing_time(calendar, ended.astimezone(tz).date())
    if closing is not None and ended < closing:
        return closing
    next_day = calendar.next_opening(ended).astimezone(tz).date()
    found = closing_time(calendar, next_day)
    assert found is not None  # the day of an opening has open intervals
    return found


def answer_due_on(received_at: datetime) -> date:
    """R-T9: the last day on which the answer is in time."""
    return local_date(received_at) + timedelta(days=ANSWER_DAYS)


def latest_expected_on(received_at: datetime) -> date:
    """R-T9: the latest expected answer date an extension may name."""
    return local_date(received_at) + timedelta(days=MAX_EXTENSION_DAYS)


def effective_due_on(due_on: date, extended_to: date | None) -> date:
    return extended_to or due_on


def is_overdue(due_on: date, extended_to: date | None, answered: bool, on: date) -> bool:
    """Not answered and `on` is past the due date (or past the extended date when extended)."""
    return not answered and on > effective_due_on(due_on, extended_to)
