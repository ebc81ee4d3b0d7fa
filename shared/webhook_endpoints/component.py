"""What a runtime holds of the webhook endpoints: the routing of events to the `webhooks` sink,
its fan-out deliverer, and the dispatcher (shared/runtime.py builds, starts and stops it)."""

from __future__ import annotations

import httpx

from shared.clock import Clock
from shared.db import Database
from shared.metrics import ServiceMetrics
from shared.settings import ServiceSettings
from shared.webhook_endpoints.dispatcher import Dispatcher
from shared.webhook_endpoints.fanout import FANOUT_SINK, FanoutDeliverer, Routing


class WebhookEndpoints:
    sink = FANOUT_SINK

    def __init__(self, settings: ServiceSettings, db: Database, clock: Clock, *,
                 transport: httpx.AsyncBaseTransport | None = None, metrics: ServiceMetrics | None = None) -> None:
        self.db = db
        self.routing = Routing(settings)
        self.dispatcher = Dispatcher(db, clock, settings, self.routing, transport=transport, metrics=metrics)
        self.fanout = FanoutDeliverer(db, clock, on_pending=self.dispatcher.wake)

    def sinks_for(self, event_type: str) -> list[str]:
        return self.routing.sinks_for(event_type)

    async def start(self) -> None:
        """Learns whether there are endpoints, then runs the dispatcher (which sends only when the
        relay is enabled, and keeps learning of a first endpoint registered elsewhere)."""
        await self.routing.refresh(self.db)
        self.dispatcher.start()

    async def stop(self) -> None:
        try:
            await self.dispatcher.stop()
        finally:
            await self.dispatcher.aclose()
