"""The agent queue's order as one sortable key, kept on the ticket: priority first (R-S3), then
tickets whose reaction clock runs, soonest breach first, then the rest; ties by id. One indexed
column makes keyset pagination trivial and the order explicit."""

from __future__ import annotations

from services.tickets.models import Ticket

RUNNING = ("new", "open")


def clock_running(ticket: Ticket) -> bool:
    return ticket.first_response_at is None and ticket.status in RUNNING and ticket.reaction_due_at is not None


def queue_key(ticket: Ticket) -> str:
    band = 9 - max(0, min(9, ticket.priority))
    if clock_running(ticket):
        assert ticket.reaction_due_at is not None
        return f"{band}0{int(ticket.reaction_due_at.timestamp()):012d}{ticket.id}"
    return f"{band}1{0:012d}{ticket.id}"
