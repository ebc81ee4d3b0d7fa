"""Queries of callbacks, remote-help sessions and complaints (SQLAlchemy 2 `select()`); no rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tickets.models import CallbackAttempt, CallbackRequest, Complaint, RemoteSession


async def get_callback(session: AsyncSession, callback_id: str, *, for_update: bool = False) -> CallbackRequest | None:
    stmt = select(CallbackRequest).where(CallbackRequest.id == callback_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def callback_attempts(session: AsyncSession, callback_ids: Sequence[str]) -> Sequence[CallbackAttempt]:
    if not callback_ids:
        return []
    stmt = (select(CallbackAttempt).where(CallbackAttempt.callback_id.in_(list(callback_ids)))
            .order_by(CallbackAttempt.callback_id, CallbackAttempt.attempt))
    return (await session.execute(stmt)).scalars().all()


async def callbacks(session: AsyncSession, *, customer_id: str | None, status: str | None, after: str | None,
                    limit: int) -> Sequence[CallbackRequest]:
    stmt = select(CallbackRequest)
    if customer_id is not None:
        stmt = stmt.where(CallbackRequest.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(CallbackRequest.status == status)
    if after is not None:
        stmt = stmt.where(CallbackRequest.id > after)
    return (await session.execute(stmt.order_by(CallbackRequest.id).limit(limit))).scalars().all()


async def get_remote_session(session: AsyncSession, session_id: str) -> RemoteSession | None:
    return (await session.execute(select(RemoteSession).where(RemoteSession.id == session_id))).scalar_one_or_none()


async def remote_sessions_of(session: AsyncSession, ticket_id: str) -> Sequence[RemoteSession]:
    stmt = select(RemoteSession).where(RemoteSession.ticket_id == ticket_id).order_by(RemoteSession.started_at)
    return (await session.execute(stmt)).scalars().all()


async def get_complaint(session: AsyncSession, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
    stmt = select(Complaint).where(Complaint.id == complaint_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


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
