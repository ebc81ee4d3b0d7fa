"""The agent queue's order as one sortable key, kept on the ticket: priority first (R-S3), then
tickets whose reaction clock runs, soonest breach first, then the rest; ties by id. One indexed
column makes keyset pagination trivial and the order explicit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.tickets.models import Ticket
from services.tickets.statuses import SlaState, TicketStatus

RUNNING = ("new", "open")


def clock_running(ticket: Ticket) -> bool:
    return ticket.first_response_at is None and ticket.status in RUNNING and ticket.reaction_due_at is not None


def queue_key(ticket: Ticket) -> str:
    band = 9 - max(0, min(9, ticket.priority))
    if clock_running(ticket):
        assert ticket.reaction_due_at is not None
        return f"{band}0{int(ticket.reaction_due_at.timestamp()):012d}{ticket.id}"
    return f"{band}1{0:012d}{ticket.id}"


def sla_state(ticket: Ticket, now: datetime) -> SlaState:
    """Where a ticket's reaction clock stands at `now` (R-T2, R-T4): met or breached once
    answered; paused while waiting for the customer; none when no clock runs; breached past the
    due time; warning once warned; else running."""
    if ticket.first_response_at is not None:
        return SlaState.MET if ticket.sla_breached_at is None else SlaState.BREACHED
    if ticket.status == TicketStatus.AWAITING_CUSTOMER:
        return SlaState.PAUSED
    if not clock_running(ticket):
        return SlaState.NONE
    if ticket.sla_breached_at is not None or (ticket.reaction_due_at and now >= ticket.reaction_due_at):
        return SlaState.BREACHED
    if ticket.sla_warned_at is not None:
        return SlaState.WARNING
    return SlaState.RUNNING


@dataclass(frozen=True)
class QueuePage:
    tickets: list[Ticket]
    next_after: str | None  # the `queue_key` the next page starts after; None: no further page
    at: datetime  # the instant the SLA states were judged at
