"""Queries of the e-mail channel: the contact directory and inbound mail; no rules here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from services.tickets.models import CustomerContact, InboundMail
from shared.atomic_create import Row, Upsert, core_statement
from shared.queries import KeysetPage, keyset_page, one_row

_NO_RAW = defer(InboundMail.raw, raiseload=True)  # type: ignore[arg-type]


async def get_contact(session: AsyncSession, email: str) -> CustomerContact | None:
    return await one_row(session, CustomerContact, CustomerContact.email == email)


async def contacts(session: AsyncSession, *, customer_id: str | None, after: str | None,
                   limit: int) -> KeysetPage[CustomerContact]:
    return await keyset_page(session, CustomerContact, CustomerContact.email, after=after, limit=limit,
                             customer_id=customer_id)


# One directory entry in one statement (`ON CONFLICT DO UPDATE`), so two tickets filed at once for
# a new contact do not collide. Automatic filling (source `api`) updates an existing entry only
# while its source is `api`, and only when it would change.
CONTACT_UPSERT = Upsert(index=("email",), update=("customer_id", "product", "name", "source", "updated_at"))
AUTOMATIC_CONTACT_UPSERT = Upsert(index=CONTACT_UPSERT.index, update=CONTACT_UPSERT.update, only_if=("source", "api"),
                                  changed=("customer_id", "product", "name"))


async def upsert_contact(session: AsyncSession, values: dict[str, Any], upsert: Upsert = CONTACT_UPSERT) -> None:
    row = Row(CustomerContact.__table__, values, upsert)  # type: ignore[attr-defined]
    await session.execute(core_statement(row, session.get_bind().dialect.name))


async def get_inbound(session: AsyncSession, mail_id: str, *, for_update: bool = False) -> InboundMail | None:
    return await one_row(session, InboundMail, InboundMail.id == mail_id, for_update=for_update)


async def inbound_by_dedupe_key(session: AsyncSession, key: str) -> InboundMail | None:
    stmt = select(InboundMail).options(_NO_RAW).where(InboundMail.dedupe_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def recent_auto_replies(session: AsyncSession, address: str, outcome: str, since: datetime) -> int:
    stmt = select(InboundMail.id).where(InboundMail.from_address == address, InboundMail.outcome == outcome,
                                        InboundMail.received_at >= since).limit(1)
    return len((await session.execute(stmt)).all())


async def inbound(session: AsyncSession, *, status: str | None, after: str | None,
                  limit: int) -> KeysetPage[InboundMail]:
    """Newest first; the raw bytes are not loaded (a listing shows sizes, not contents)."""
    return await keyset_page(session, InboundMail, InboundMail.id, after=after, limit=limit, newest_first=True,
                             options=[_NO_RAW], status=status)
