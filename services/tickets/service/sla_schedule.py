"""When a ticket's SLA clock next needs a look: `ticket.sla_next_check_at` (R-T4, R-T2).

A ticket awaiting its first reaction (new or open, not yet breached) has one next instant: its
warning instant (the warning ratio of the target used) while it has not been warned and that
comes before the deadline, else its reaction deadline (the breach). Every other ticket has none.
What is due there follows from the row: at or past `reaction_due_at` a breach, before it a warning.
The instant is recomputed whenever the clock changes (filing, pause, resume, plan change, first
reaction, resolution, reopening); the scan (service/monitor.py) reads the index range
`sla_next_check_at <= now` and moves each ticket it handles past `now`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from services.tickets.models import Ticket
from services.tickets.service.queue import RUNNING
from services.tickets.service.sla import Pause, calendar_for, regime, target_minutes


def awaiting_reaction(ticket: Ticket) -> bool:
    """The reaction clock runs and may still warn or breach."""
    return (ticket.first_response_at is None and ticket.status in RUNNING and ticket.sla_breached_at is None
            and ticket.reaction_due_at is not None)


def warning_at(policy: dict[str, Any], accepted_at: datetime, pauses: Sequence[Pause], ratio: float) -> datetime:
    """The instant `ratio` of the current plan's target is used (carry-over of an upgrade included;
    already used up: the start of the current plan's clock)."""
    r = regime(policy, accepted_at, pauses)
    left = ratio * target_minutes(policy) - r.used_before
    return r.start if left <= 0 else calendar_for(policy).add(r.start, left, r.pauses)


def pending_warning(ticket: Ticket, pauses: Sequence[Pause], ratio: float) -> datetime | None:
    """The warning instant still to come, or None (warned already, or it would fall at or after
    the deadline, where the breach is raised instead)."""
    assert ticket.reaction_due_at is not None
    if ticket.sla_warned_at is not None:
        return None
    warn = warning_at(ticket.policy, ticket.accepted_at, pauses, ratio)
    return warn if warn < ticket.reaction_due_at else None


def next_check(ticket: Ticket, pauses: Sequence[Pause], ratio: float) -> datetime | None:
    if not awaiting_reaction(ticket):
        return None
    return pending_warning(ticket, pauses, ratio) or ticket.reaction_due_at
