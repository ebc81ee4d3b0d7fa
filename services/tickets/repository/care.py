"""Queries of callbacks, remote-help sessions and complaints (SQLAlchemy 2 `select()`); no rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tickets.models import CallbackAttempt, CallbackRequest, Complaint, RemoteSession
from shared.queries import KeysetPage, keyset_page, one_row


async def get_callback(session: AsyncSession, callback_id: str, *, for_update: bool = False) -> CallbackRequest | None:
    return await one_row(session, CallbackRequest, CallbackRequest.id == callback_id, for_update=for_update)


async def callback_attempts(session: AsyncSession, callback_ids: Sequence[str]) -> Sequence[CallbackAttempt]:
    if not callback_ids:
        return []
    stmt = (select(CallbackAttempt).where(CallbackAttempt.callback_id.in_(list(callback_ids)))
            .order_by(CallbackAttempt.callback_id, CallbackAttempt.attempt))
    return (await session.execute(stmt)).scalars().all()


async def callbacks(session: AsyncSession, *, customer_id: str | None, status: str | None, after: str | None,
                    limit: int) -> KeysetPage[CallbackRequest]:
    return await keyset_page(session, CallbackRequest, CallbackRequest.id, after=after, limit=limit,
                             customer_id=customer_id, status=status)


async def get_remote_session(session: AsyncSession, session_id: str) -> RemoteSession | None:
    return await one_row(session, RemoteSession, RemoteSession.id == session_id)


async def remote_sessions_of(session: AsyncSession, ticket_id: str) -> Sequence[RemoteSession]:
    stmt = select(RemoteSession).where(RemoteSession.ticket_id == ticket_id).order_by(RemoteSession.started_at)
    return (await session.execute(stmt)).scalars().all()


async def get_complaint(session: AsyncSession, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
    return await one_row(session, Complaint, Complaint.id == complaint_id, for_update=for_update)


async def complaints(session: AsyncSession, *, customer_id: str | None, status: str | None,
                     overdue_on: date | None, limit: int) -> Sequence[Complaint]:
    """`overdue_on`: only complaints not answered whose due date (the extended one when
    extended) is before that day."""
    stmt = select(Complaint)
    if customer_id is not None:
        stmt = stmt.where(Complaint.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Complaint.status == status)
    if overdue_on is not None:
        stmt = stmt.where(Complaint.status != "answered",
                          func.coalesce(Complaint.extended_to, Complaint.due_on) < overdue_on)
    return (await session.execute(stmt.order_by(Complaint.received_at, Complaint.id).limit(limit))).scalars().all()
