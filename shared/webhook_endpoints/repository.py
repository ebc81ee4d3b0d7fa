"""Queries on the webhook tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.queries import KeysetPage, keyset_page, one_row
from shared.webhook_endpoints.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


async def any_endpoint(session: AsyncSession) -> bool:
    return (await session.execute(select(WebhookEndpoint.id).limit(1))).first() is not None


async def endpoint(session: AsyncSession, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint | None:
    return await one_row(session, WebhookEndpoint, WebhookEndpoint.id == endpoint_id, for_update=for_update, fresh=True)


async def endpoints(session: AsyncSession, *, owner: str | None, after: str | None, limit: int
                    ) -> KeysetPage[WebhookEndpoint]:
    """In id (creation) order; `owner` None: everyone's."""
    return await keyset_page(session, WebhookEndpoint, WebhookEndpoint.id, after=after, limit=limit, owner=owner)


async def routing_table(session: AsyncSession) -> Sequence[Any]:
    """(id, events, status) of every endpoint: what fan-out matches an event against; share-locked
    until commit, so that enabling or disabling one waits for the deliveries made meanwhile."""
    stmt = select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.status).with_for_update(read=True)
    return (await session.execute(stmt)).all()


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One delivery per (endpoint, event), whatever is already there (a repeated fan-out)."""
    if not rows:
        return
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(WebhookDelivery).values(rows)
                          .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"]))


async def delivery(session: AsyncSession, endpoint_id: str, delivery_id: str, *, for_update: bool = False
                   ) -> WebhookDelivery | None:
    return await one_row(session, WebhookDelivery, WebhookDelivery.id == delivery_id,
                         WebhookDelivery.endpoint_id == endpoint_id, for_update=for_update, fresh=True)


async def deliveries(session: AsyncSession, endpoint_id: str, *, status: str | None, before: str | None,
                     limit: int) -> KeysetPage[WebhookDelivery]:
    """Newest first."""
    return await keyset_page(session, WebhookDelivery, WebhookDelivery.id, after=before, limit=limit,
                             newest_first=True, endpoint_id=endpoint_id, status=status)


async def attempts(session: AsyncSession, delivery_id: str) -> Sequence[WebhookAttempt]:
    stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)
    return (await session.execute(stmt)).scalars().all()


async def hold_pending(session: AsyncSession, endpoint_id: str) -> None:
    """A disabled endpoint's pending deliveries wait, held, until it is enabled again."""
    await session.execute(update(WebhookDelivery)
                          .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
                          .values(status="held", next_attempt_at=None))  # an attempt in flight may settle it


async def release_held(session: AsyncSession, endpoint_id: str, now: datetime) -> None:
    """Held deliveries become due now, each with a fresh retry budget."""
    await session.execute(update(WebhookDelivery)
                          .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "held")
                          .values(status="pending", next_attempt_at=now, budget_used=0, locked_until=None,
                                  lease=None))


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
    """Due pending deliveries of enabled endpoints, locked (SKIP LOCKED: other replicas take others)."""
    stmt = (select(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                   (WebhookDelivery.locked_until.is_(None)) | (WebhookDelivery.locked_until < now),
                   WebhookEndpoint.status == "enabled")
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery))
    return (await session.execute(stmt)).scalars().all()


async def endpoints_by_id(session: AsyncSession, ids: set[str]) -> dict[str, WebhookEndpoint]:
    rows = (await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(ids)))).scalars()
    return {e.id: e for e in rows}
