"""Sends due deliveries to their endpoints, signed with each endpoint's own secret.

Each round claims a batch of due `pending` deliveries of enabled endpoints with a lease, under
`FOR UPDATE SKIP LOCKED` (several replicas dispatch without sending one delivery twice at the
same time; a dispatcher that dies mid-attempt only delays it until the lease runs out), POSTs
them concurrently and settles each in a transaction of its own: an attempt row (status code,
error excerpt, duration), then delivered on a 2xx, else retried with exponential backoff, and
once the delivery's retry budget is spent: the delivery `failed`, its endpoint disabled and its
other pending deliveries `held` until the endpoint is enabled again.

An attempt settles only the claim it was made under (`lease`): a delivery replayed, held or
released while its attempt was in flight keeps what that did, and the attempt is only logged.
Scheduling uses the injected clock; the `webhook-timestamp` header the wall clock (see
shared/standard_webhooks.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

import httpx
from sqlalchemy import update

from shared.clock import Clock
from shared.db import Database
from shared.ids import new_id
from shared.metrics import ServiceMetrics
from shared.settings import ServiceSettings
from shared.tasks import WakeableLoop, drain_rounds
from shared.webhook_endpoints import repository as repo
from shared.webhook_endpoints.fanout import Routing
from shared.webhook_endpoints.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.webhook_endpoints.policy import RetryPolicy, disabled_reason
from shared.standard_webhooks import post_signed, signed_request

log = logging.getLogger("shared.webhook_endpoints")

_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    endpoint_id: str
    lease: str
    event_id: str
    payload: dict[str, Any]
    url: str
    secret: str


class Dispatcher:
    def __init__(self, db: Database, clock: Clock, settings: ServiceSettings, routing: Routing, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 wall_clock: Callable[[], float] = time.time, metrics: ServiceMetrics | None = None) -> None:
        self.db, self.clock, self.routing = db, clock, routing
        self.metrics = metrics
        self.policy = RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_base,
                                  settings.webhook_backoff_max)
        self.batch_size = settings.relay_batch_size
        self.lease_time = timedelta(seconds=settings.relay_lease_seconds)
        self.dispatching = settings.relay_enabled  # off: only `drain()` sends (tests, tools)
        self.wall_clock = wall_clock
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout), transport=transport, follow_redirects=False,
            headers={"user-agent": f"support-platform/{settings.service_name}-webhooks"})
        self.loop = WakeableLoop(self._round, name="webhook-dispatcher", poll_interval=settings.relay_poll_interval,
                                 log=log)

    def wake(self) -> None:
        self.loop.wake()

    # ---- one round ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch and attempt each; returns how many were attempted."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(*(self._attempt(c) for c in claimed))
        return len(claimed)

    async def drain(self, max_rounds: int = 100) -> int:
        """Attempt until nothing is due (tests and tools)."""
        return await drain_rounds(self.run_once, max_rounds)

    async def _claim(self) -> list[Claimed]:
        now, lease = self.clock.now(), new_id("lease")
        async with self.db.transaction() as session:
            rows = await repo.claim_due(session, now, self.batch_size)
            if not rows:
                return []
            await session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_([r.id for r in rows]))
                                  .values(locked_until=now + self.lease_time, lease=lease))
            endpoints = await repo.endpoints_by_id(session, {r.endpoint_id for r in rows})
        return [Claimed(delivery_id=r.id, endpoint_id=r.endpoint_id, lease=lease, event_id=r.event_id,
                        payload=r.payload, url=endpoints[r.endpoint_id].url, secret=endpoints[r.endpoint_id].secret)
                for r in rows]

    async def _attempt(self, claimed: Claimed) -> None:
        attempted_at = self.clock.now()
        started = time.monotonic()
        status: int | None = None
        try:
            body, headers = signed_request(claimed.secret, claimed.event_id, claimed.payload,
                                           timestamp=int(self.wall_clock()))
            status, excerpt = await post_signed(self._client, claimed.url, body, headers)
            error = None if excerpt is None else (f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}")
        except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt, retried
            error = f"{type(exc).__name__}: {exc}"
        duration_ms = round((time.monotonic() - started) * 1000)
        try:
            failed, disabled = await self._settle(claimed, attempted_at, status,
                                                  error if error is None else error[:_ERROR_CHARS], duration_ms)
        except Exception:  # noqa: BLE001 - the lease runs out and the delivery is attempted again
            log.exception("could not record a webhook attempt", extra={"delivery_id": claimed.delivery_id})
            return
        if error is not None and self.metrics is not None:
            self.metrics.webhook_attempt_failed(delivery_failed=failed, endpoint_disabled=disabled)

    async def _settle(self, claimed: Claimed, attempted_at: Any, status: int | None, error: str | None,
                      duration_ms: int) -> tuple[bool, bool]:
        """Records the attempt; returns (the delivery failed for good, its endpoint was disabled)."""
        now = self.clock.now()
        ok = error is None
        async with self.db.transaction() as session:
            # the endpoint's row first, then the delivery's: the order every writer locks them in
            failures = 0 if ok else WebhookEndpoint.consecutive_failures + 1
            await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == claimed.endpoint_id)
                                  .values(consecutive_failures=failures))
            delivery = await session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True,
                                         populate_existing=True)
            if delivery is None:
                return False, False  # its endpoint was deleted meanwhile
            session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=attempted_at, status_code=status,
                                       error=error, duration_ms=duration_ms))
            delivery.attempts += 1
            if delivery.lease != claimed.lease:
                return False, False  # replayed or released meanwhile: this attempt is only logged
            delivery.budget_used += 1
            delivery.last_status_code, delivery.last_error = status, error
            delivery.locked_until = delivery.lease = None
            if ok:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
                return False, False
            outcome = self.policy.after_failure(delivery.budget_used, now)
            if not outcome.exhausted:
                # held meanwhile (its endpoint was disabled): it waits for the endpoint instead
                delivery.next_attempt_at = outcome.retry_at if delivery.status == "pending" else None
                return False, False
            delivery.status, delivery.next_attempt_at = "failed", None
            await session.flush()
            reason = disabled_reason(delivery.id, delivery.event_type, delivery.budget_used, error or "")
            disabled = await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == delivery.endpoint_id, WebhookEndpoint.status == "enabled")
                .values(status="disabled", disabled_reason=reason, disabled_at=now, updated_at=now))
            await repo.hold_pending(session, delivery.endpoint_id)
        if disabled.rowcount:  # type: ignore[attr-defined]
            log.error("webhook endpoint disabled: a delivery ran out of retries",
                      extra={"endpoint_id": claimed.endpoint_id, "delivery_id": claimed.delivery_id,
                             "event_id": claimed.event_id, "url": claimed.url, "reason": reason})
        return True, bool(disabled.rowcount)  # type: ignore[attr-defined]

    # ---- the loop ------------------------------------------------------------------------------

    async def _round(self) -> int:
        await self.routing.refresh(self.db)  # another replica may have registered the first one
        return await self.run_once() if self.dispatching else 0

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def aclose(self) -> None:
        await self._client.aclose()
