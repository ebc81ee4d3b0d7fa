"""What one running service holds: settings, database, clock, authenticator, outbox relay,
service-token provider and its metrics registry. Built once per app; tests build their own."""

from __future__ import annotations

from functools import partial

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


class Runtime:
    def __init__(self, settings: ServiceSettings, *, clock: Clock | None = None,
                 authenticator: Authenticator | None = None, deliverer: Deliverer | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url, pool_size=settings.db_pool_size,
                           read_pool_size=settings.read_pool_size, echo=settings.db_echo)
        self.authenticator = authenticator or Authenticator.from_settings(settings)
        self.tokens = ServiceTokenProvider(settings)
        self._own_deliverer = deliverer is None
        self.deliverer: Deliverer = deliverer or HttpSinkDeliverer(settings, self.tokens)
        self.relay = OutboxRelay(self.db, self.clock, self.deliverer, RelayPolicy(
            batch_size=settings.relay_batch_size, lease_seconds=settings.relay_lease_seconds,
            max_attempts=settings.relay_max_attempts, backoff_base=settings.relay_backoff_base,
            backoff_max=settings.relay_backoff_max, poll_interval=settings.relay_poll_interval))
        self.registry = CollectorRegistry()
        self._outbox_pending = Gauge("outbox_pending_messages", "Outbox rows not yet delivered", ["service"],
                                     registry=self.registry)
        self.resolve_sinks = partial(sinks_for, sinks=settings.event_sinks)

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
        await self.relay.stop()
        if self._own_deliverer and isinstance(self.deliverer, HttpSinkDeliverer):
            await self.deliverer.aclose()
        await self.db.dispose()
