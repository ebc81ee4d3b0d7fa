"""Queries of the tickets service (SQLAlchemy 2 `select()`); no rules here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tickets.models import Attachment, OutageWindow, Ticket, TicketEvent, TicketMessage, TicketPause
from shared.queries import KeysetPage, keyset_page, one_row


async def get_ticket(session: AsyncSession, ticket_id: str, *, for_update: bool = False) -> Ticket | None:
    return await one_row(session, Ticket, Ticket.id == ticket_id, for_update=for_update)


async def pauses(session: AsyncSession, ticket_id: str) -> Sequence[TicketPause]:
    stmt = select(TicketPause).where(TicketPause.ticket_id == ticket_id).order_by(TicketPause.id)
    return (await session.execute(stmt)).scalars().all()


async def open_pause(session: AsyncSession, ticket_id: str) -> TicketPause | None:
    stmt = select(TicketPause).where(TicketPause.ticket_id == ticket_id, TicketPause.ended_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def messages(session: AsyncSession, ticket_id: str, *, public_only: bool) -> Sequence[TicketMessage]:
    stmt = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    if public_only:
        stmt = stmt.where(TicketMessage.visibility == "public")
    return (await session.execute(stmt.order_by(TicketMessage.at, TicketMessage.id))).scalars().all()


async def attachments_of(session: AsyncSession, message_ids: Sequence[str]) -> Sequence[Attachment]:
    if not message_ids:
        return []
    stmt = select(Attachment).where(Attachment.message_id.in_(list(message_ids))).order_by(Attachment.id)
    return (await session.execute(stmt)).scalars().all()


async def history(session: AsyncSession, ticket_id: str) -> Sequence[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    return (await session.execute(stmt)).scalars().all()


async def due_for_sla_check(session: AsyncSession, as_of: datetime, *, limit: int) -> Sequence[Ticket]:
    """A chunk of the tickets whose next SLA instant has come (`ix_ticket_sla_next_check`, an index
    range), soonest first, claimed with SKIP LOCKED so several replicas share one scan."""
    stmt = (select(Ticket)
            .where(Ticket.sla_next_check_at.is_not(None), Ticket.sla_next_check_at <= as_of)
            .order_by(Ticket.sla_next_check_at).limit(limit).with_for_update(skip_locked=True))
    return (await session.execute(stmt)).scalars().all()


async def pauses_of(session: AsyncSession, ticket_ids: Sequence[str]) -> Sequence[TicketPause]:
    """The pauses of many tickets in one query, in order per ticket."""
    if not ticket_ids:
        return []
    stmt = (select(TicketPause).where(TicketPause.ticket_id.in_(list(ticket_ids)))
            .order_by(TicketPause.ticket_id, TicketPause.id))
    return (await session.execute(stmt)).scalars().all()


async def unreacted_of_customer(session: AsyncSession, customer_id: str) -> Sequence[Ticket]:
    """A customer's tickets still waiting for their first reaction (paused ones included), locked
    for update: a plan change re-times them."""
    stmt = (select(Ticket)
            .where(Ticket.customer_id == customer_id, Ticket.first_response_at.is_(None),
                   Ticket.status.in_(("new", "open", "awaiting_customer")))
            .order_by(Ticket.id).with_for_update())
    return (await session.execute(stmt)).scalars().all()


async def outages_covering(session: AsyncSession, start: datetime, end: datetime | None = None
                           ) -> Sequence[OutageWindow]:
    """Windows covering the instant `start`, or any instant of [start, end]."""
    stmt = select(OutageWindow).where(OutageWindow.starts_at <= (end or start), OutageWindow.ends_at > start)
    return (await session.execute(stmt)).scalars().all()


async def queue(session: AsyncSession, *, customer_id: str | None, statuses: Sequence[str], assignee: str | None,
                product_id: str | None, after: str | None, limit: int) -> KeysetPage[Ticket]:
    """In `queue_key` order: priority first, then time to breach (see service/queue.py)."""
    return await keyset_page(session, Ticket, Ticket.queue_key, after=after, limit=limit,
                             where=[Ticket.status.in_(list(statuses))], customer_id=customer_id,
                             assignee=assignee, product_id=product_id)
