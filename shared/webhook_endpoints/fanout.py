"""From committed events to deliveries: the built-in outbox sink `webhooks`.

An event whose type is public (`settings.webhook_endpoint_events`) gets one more outbox row, for
the sink `webhooks`, written in the transaction of the change like every outbox row; so an
event is never lost between its commit and its fan-out. The relay hands that row to
`FanoutDeliverer`, which looks the endpoints up in the database *then* (after commit, so no
replica acts on a stale copy of them) and inserts one delivery per matching endpoint in one
transaction, idempotently (unique per endpoint and event): `pending`, or `held` for a disabled
endpoint.

The row is written only once the service has an endpoint (`Routing`): a service nobody
subscribes to writes exactly what it wrote before. Whether it has one is read from the database
when the runtime starts and every dispatcher round until the answer is yes, and is set at once
on the replica that registers an endpoint; so another replica starts fanning out at most one
poll interval after a service's *first* endpoint is registered. The answer then stays yes for
the life of the process (no race between a refresh and a registration; after the last endpoint
is deleted the rows find nobody to go to, which is harmless). A runtime that was never started
(a command-line tool writing events) asks the database once, when it first needs to know.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.clock import Clock
from shared.db import Database
from shared.ids import new_id
from shared.infra_models import OutboxMessage
from shared.settings import ServiceSettings
from shared.webhook_endpoints import repository as repo
from shared.webhook_endpoints.models import WebhookEndpoint
from shared.webhook_endpoints.policy import matches

log = logging.getLogger("shared.webhook_endpoints")

FANOUT_SINK = "webhooks"


class Routing:
    """Which events get a `webhooks` outbox row: public ones, once the service has an endpoint."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.public = tuple(settings.webhook_endpoint_events)
        self.database_url = settings.database_url
        self.endpoints_exist: bool | None = None  # None: not known yet

    def is_public(self, event_type: str) -> bool:
        return matches(event_type, self.public)

    def sinks_for(self, event_type: str) -> list[str]:
        if not self.is_public(event_type):
            return []
        if self.endpoints_exist is None:
            self.endpoints_exist = _probe(self.database_url)
        return [FANOUT_SINK] if self.endpoints_exist else []

    async def refresh(self, db: Database) -> None:
        if self.endpoints_exist:
            return  # once yes, yes for good (see the module's docstring)
        try:
            async with db.session() as session:
                found = await repo.any_endpoint(session)
        except Exception:  # noqa: BLE001 - unknown: fan out (a row with no endpoint to go to is harmless)
            log.warning("could not tell whether webhook endpoints exist; fanning out public events", exc_info=True)
            self.endpoints_exist = True
            return
        if found:
            self.endpoints_exist = True
        elif self.endpoints_exist is None:  # not if one was registered here while we asked
            self.endpoints_exist = False

    def endpoint_registered(self) -> None:
        self.endpoints_exist = True


def _probe(database_url: str) -> bool:
    """Whether the database has an endpoint, asked synchronously (a runtime that was never
    started: a command-line tool). On a connection of its own, in a thread of its own."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return False

    async def probe() -> bool:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(select(WebhookEndpoint.id).limit(1))).first() is not None
        finally:
            await engine.dispose()

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, asyncio.wait_for(probe(), 10)).result()
    except Exception:  # noqa: BLE001 - e.g. a database not migrated yet: it has no endpoints
        log.warning("could not tell whether webhook endpoints exist; not fanning out", exc_info=True)
        return False


class FanoutDeliverer:
    """The outbox deliverer of the `webhooks` sink: one delivery per matching endpoint."""

    def __init__(self, db: Database, clock: Clock, on_pending: Callable[[], None]) -> None:
        self.db, self.clock, self.on_pending = db, clock, on_pending

    async def __call__(self, sink: str, message: OutboxMessage) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            # share-locked: an endpoint disabled meanwhile waits for this commit and then holds
            # what was just made pending
            endpoints = await repo.routing_table(session)
            rows = [{"id": new_id("whd"), "endpoint_id": e.id, "event_id": message.event_id,
                     "event_type": message.event_type, "payload": message.payload,
                     "status": "pending" if e.status == "enabled" else "held", "attempts": 0, "budget_used": 0,
                     "next_attempt_at": now if e.status == "enabled" else None, "created_at": now}
                    for e in endpoints if matches(message.event_type, e.events)]
            await repo.insert_deliveries(session, rows)
        if any(r["status"] == "pending" for r in rows):
            self.on_pending()
