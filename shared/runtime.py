"""What one running service holds: settings, database, clock, authenticator, outbox relay,
service-token provider and its metrics registry. Built once per app; tests build their own.

The relay's deliverer, unless one is injected: a `CompositeDeliverer` that sends rows whose sink
is a configured webhook to the `WebhookDeliverer` (Standard Webhooks, signed, no service token)
and every other row to the `HttpSinkDeliverer` (internal sinks, service JWT).

A service may add sinks of its own (`extra_sinks`: name → (event patterns, deliverer)), e.g. the
tickets service's `mail` sink: matching events get a row for that sink, the `CompositeDeliverer`
routes those rows to its deliverer, and the runtime closes it on stop.

Webhook endpoints registered through the API (shared/webhook_endpoints/) add the built-in sink
`webhooks`: public events get a row for it once the service has an endpoint, its deliverer fans
each event out into deliveries, and the runtime starts and stops their dispatcher.

Its metrics (shared/metrics.py) are on `runtime.metrics`, its registry `runtime.registry`; a
service adds its own counters and gauges to them when it builds its app."""

from __future__ import annotations

import fnmatch
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Sequence

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Authenticator
from shared.clock import Clock, SystemClock
from shared.db import Database
from shared.http import HttpSinkDeliverer, ServiceTokenProvider
from shared.infra_models import OutboxMessage
from shared.metrics import ServiceMetrics
from shared.outbox import (
    NO_SINK, Deliverer, OutboxRelay, OutboxWriter, RelayPolicy, close_deliverers, pending_filter, sinks_for,
)
from shared.settings import ServiceSettings
from shared.atomic_create import AtomicCreate
from shared.tasks import WakeableLoop
from shared.uow import UnitOfWork
from shared.webhook_endpoints.component import WebhookEndpoints
from shared.webhook_endpoints.models import WebhookDelivery, WebhookEndpoint
from shared.standard_webhooks import CompositeDeliverer, WebhookDeliverer, webhooks_for


log = logging.getLogger("shared.runtime")


class Runtime:
    def __init__(self, settings: ServiceSettings, *, clock: Clock | None = None,
                 authenticator: Authenticator | None = None, deliverer: Deliverer | None = None,
                 extra_sinks: Mapping[str, tuple[Sequence[str], Deliverer]] | None = None) -> None:
        self.settings = settings
        self.extra_sinks = {name: (list(patterns), sink) for name, (patterns, sink) in (extra_sinks or {}).items()}
        clash = sorted(set(self.extra_sinks) & (set(settings.event_sinks) | set(settings.webhooks) | {NO_SINK}))
        if clash:
            raise ValueError(f"extra sink names clash with configured sinks or webhooks: {clash}")
        if WebhookEndpoints.sink in {*settings.event_sinks, *settings.webhooks, *self.extra_sinks}:
            raise ValueError(f"the sink name {WebhookEndpoints.sink!r} is reserved for the webhook endpoints' fan-out")
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size,
                           read_pool_size=settings.read_pool_size, echo=settings.db_echo)
        self.authenticator = authenticator or Authenticator.from_settings(settings)
        self.tokens = ServiceTokenProvider(settings)
        self.metrics = ServiceMetrics(settings.service_name)
        self.registry = self.metrics.registry
        self.webhook_endpoints = WebhookEndpoints(settings, self.db, self.clock, metrics=self.metrics)
        # An injected deliverer (tests) replaces both and is the caller's to close.
        self.webhooks: WebhookDeliverer | None = None
        self._owned_deliverer: CompositeDeliverer | None = None
        if deliverer is None:
            self.webhooks = WebhookDeliverer(settings)
            deliverer = self._owned_deliverer = CompositeDeliverer(
                HttpSinkDeliverer(settings, self.tokens),
                {**{name: self.webhooks for name in settings.webhooks},
                 **{name: sink for name, (_, sink) in self.extra_sinks.items()},
                 WebhookEndpoints.sink: self.webhook_endpoints.fanout})
        self.deliverer: Deliverer = deliverer
        self.loops: dict[str, WakeableLoop] = {}
        self.relay = OutboxRelay(self.db, self.clock, self.deliverer, RelayPolicy.from_settings(settings),
                                 metrics=self.metrics)
        self.creates = AtomicCreate(self.db, source=settings.service_name, resolve_sinks=self.resolve_sinks)

    def resolve_sinks(self, event_type: str) -> list[str]:
        """Every sink an event of this type goes to: internal event sinks, webhooks, extra sinks,
        the webhook endpoints' fan-out."""
        return (sinks_for(event_type, self.settings.event_sinks) + webhooks_for(event_type, self.settings.webhooks)
                + [name for name, (patterns, _) in self.extra_sinks.items()
                   if any(fnmatch.fnmatchcase(event_type, p) for p in patterns)]
                + self.webhook_endpoints.sinks_for(event_type))

    def unit_of_work(self, session: AsyncSession) -> UnitOfWork:
        return UnitOfWork(session=session, clock=self.clock,
                          events=OutboxWriter(session, self.clock, self.settings.service_name, self.resolve_sinks,
                                              on_commit=self.metrics.committed if self.metrics.counts_events else None),
                          on_commit=self.after_commit)

    @asynccontextmanager
    async def work(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work for a job: rolled back on leaving unless `await uow.commit()` was called."""
        async with self.db.sessionmaker() as session:
            uow = self.unit_of_work(session)
            try:
                yield uow
            finally:
                if not uow.committed:
                    await session.rollback()

    def background_loop(self, name: str, round_: Callable[[], Awaitable[int]], poll_interval: float) -> WakeableLoop:
        """A loop of rounds that lives as long as the runtime: woken by the commits that give it
        work (`UnitOfWork.wake(name)`), with `poll_interval` as the fallback (0 or less: off)."""
        loop = WakeableLoop(round_, name=name, poll_interval=poll_interval, log=log)
        self.loops[name] = loop
        return loop

    def after_commit(self, uow: UnitOfWork | None = None) -> None:
        """After a commit: the relay delivers its events, the loops it gave work run a round.
        `UnitOfWork.commit()` calls it; the atomic create, which commits without one, calls it itself."""
        if uow is not None and not (uow.events.to_deliver or uow.wakes):
            return
        self.relay.wake()
        for name in uow.wakes if uow is not None else ():
            if name in self.loops:
                self.loops[name].wake()

    async def refresh_gauges(self) -> None:
        """The gauges read from the database when /metrics is scraped: each an indexed count."""
        m = self.metrics
        async with self.db.session() as session:
            async def count(*where: Any, model: Any = OutboxMessage, join: Any = None) -> int:
                stmt = select(func.count()).select_from(model)
                if join is not None:
                    stmt = stmt.join(*join)
                return (await session.execute(stmt.where(*where))).scalar_one()

            m.set(m.outbox_pending, await count(pending_filter()))
            m.set(m.outbox_dead_letters, await count(OutboxMessage.failed_at.is_not(None)))  # ix_outbox_dead
            disabled = await count(WebhookEndpoint.status == "disabled", model=WebhookEndpoint)
            m.set(m.webhook_disabled_endpoints, disabled)
            m.set(m.webhook_held_deliveries, 0 if not disabled else await count(
                WebhookEndpoint.status == "disabled", WebhookDelivery.status == "held", model=WebhookDelivery,
                join=(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)))
            await m.scrape(session, self.now())

    def now(self) -> datetime:
        return self.clock.now()

    async def start(self) -> None:
        if self.settings.relay_enabled:
            self.relay.start()
        for loop in self.loops.values():
            loop.start()
        await self.webhook_endpoints.start()

    async def stop(self) -> None:
        try:
            for loop in self.loops.values():
                await loop.stop()
            await self.relay.stop()
            await self.webhook_endpoints.stop()
        finally:
            try:
                if self._owned_deliverer is not None:
                    await self._owned_deliverer.aclose()  # extra sinks' deliverers among them
                else:
                    await close_deliverers(sink for _, sink in self.extra_sinks.values())
            finally:
                await self.db.dispose()
