"""What one running service holds: settings, database, clock, authenticator, outbox relay,
service-token provider and its metrics registry. Built once per app; tests build their own.

The relay's deliverer, unless one is injected: a `CompositeDeliverer` that sends rows whose sink
is a configured webhook to the `WebhookDeliverer` (Standard Webhooks, signed, no service token)
and every other row to the `HttpSinkDeliverer` (internal sinks, service JWT)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Authenticator
from shared.clock import Clock, SystemClock
from shared.db import Database
from shared.http import HttpSinkDeliverer, ServiceTokenProvider
from shared.infra_models import OutboxMessage
from shared.outbox import Deliverer, OutboxRelay, OutboxWriter, RelayPolicy, pending_filter, sinks_for
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork
from shared.webhooks import CompositeDeliverer, WebhookDeliverer, webhooks_for


class Runtime:
    def __init__(self, settings: ServiceSettings, *, clock: Clock | None = None,
                 authenticator: Authenticator | None = None, deliverer: Deliverer | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size,
                           read_pool_size=settings.read_pool_size, echo=settings.db_echo)
        self.authenticator = authenticator or Authenticator.from_settings(settings)
        self.tokens = ServiceTokenProvider(settings)
        # An injected deliverer (tests) replaces both and is the caller's to close.
        self.webhooks: WebhookDeliverer | None = None
        self._owned_deliverer: CompositeDeliverer | None = None
        if deliverer is None:
            self.webhooks = WebhookDeliverer(settings)
            deliverer = self._owned_deliverer = CompositeDeliverer(
                HttpSinkDeliverer(settings, self.tokens), {name: self.webhooks for name in settings.webhooks})
        self.deliverer: Deliverer = deliverer
        self.relay = OutboxRelay(self.db, self.clock, self.deliverer, RelayPolicy(
            batch_size=settings.relay_batch_size, lease_seconds=settings.relay_lease_seconds,
            max_attempts=settings.relay_max_attempts, backoff_base=settings.relay_backoff_base,
            backoff_max=settings.relay_backoff_max, poll_interval=settings.relay_poll_interval))
        self.registry = CollectorRegistry()
        self._outbox_pending = Gauge("outbox_pending_messages", "Outbox rows not yet delivered", ["service"],
                                     registry=self.registry)

    def resolve_sinks(self, event_type: str) -> list[str]:
        """Every sink an event of this type goes to: internal event sinks, then webhooks."""
        return sinks_for(event_type, self.settings.event_sinks) + webhooks_for(event_type, self.settings.webhooks)

    def unit_of_work(self, session: AsyncSession) -> UnitOfWork:
        return UnitOfWork(session=session, clock=self.clock,
                          events=OutboxWriter(session, self.clock, self.settings.service_name, self.resolve_sinks))

    def after_commit(self) -> None:
        self.relay.wake()

    async def refresh_gauges(self) -> None:
        async with self.db.session() as session:
            pending = (await session.execute(select(func.count()).select_from(OutboxMessage)
                                             .where(pending_filter()))).scalar_one()
        self._outbox_pending.labels(self.settings.service_name).set(pending)

    async def start(self) -> None:
        if self.settings.relay_enabled:
            self.relay.start()

    async def stop(self) -> None:
        try:
            await self.relay.stop()
        finally:
            try:
                if self._owned_deliverer is not None:
                    await self._owned_deliverer.aclose()
            finally:
                await self.db.dispose()
