"""One service's Prometheus metrics, on a registry of its own (several apps can live in one
process, e.g. in tests): the process and the Python runtime, the platform's own counters (outbox,
webhook endpoints), and what each service adds.

Three ways a number gets here, none of them a database query on a request's path:

- counters incremented where the thing happens (a delivery failing, a message dead-lettered);
- counters of domain events, incremented when the transaction that raised them commits
  (`on_event`: the outbox writer reports committed events, shared/outbox.py), so a rolled-back
  SLA scan counts nothing;
- gauges computed on scrape (`on_scrape`), with cheap indexed queries.

Label values are bounded: fixed vocabularies, or `BoundedLabel` for values from outside.
Every metric is listed, with example alerts, in docs/guides/operators.md."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("shared.metrics")

EventCallback = Callable[[dict[str, Any]], None]  # gets the committed event's envelope
ScrapeCallback = Callable[[AsyncSession, datetime], Awaitable[None]]  # (read session, now)


class BoundedLabel:
    """A label value from outside the code (a provider's failure code): the first `limit`
    distinct values are kept, later ones become `other`, so one misbehaving source cannot
    grow the number of series without bound."""

    def __init__(self, limit: int = 20, max_length: int = 40) -> None:
        self.limit, self.max_length = limit, max_length
        self._seen: set[str] = set()

    def __call__(self, value: object) -> str:
        text = ("none" if value is None or value == "" else str(value))[:self.max_length]
        if text in self._seen:
            return text
        if len(self._seen) < self.limit:
            self._seen.add(text)
            return text
        return "other"


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, _resident_memory_bytes, _open_fds …
        PlatformCollector(registry=self.registry)  # python_info
        GCCollector(registry=self.registry)  # python_gc_*
        self._by_name: dict[str, Any] = {}
        self._on_event: dict[str, list[EventCallback]] = {}
        self._on_scrape: list[ScrapeCallback] = []
        self._sink = BoundedLabel(limit=50)  # sink names come from the settings, but stay bounded anyway
        # ---- the outbox (shared/outbox.py) --------------------------------------------------
        self.outbox_pending = self.gauge("outbox_pending_messages", "Outbox rows not yet delivered (dead letters excluded)")
        self.outbox_dead_letters = self.gauge("outbox_dead_letters", "Outbox rows that ran out of attempts and wait "
                                              "for an operator")
        self._outbox_failures = self.counter("outbox_delivery_failures", "Failed outbox delivery attempts", ["sink"])
        self._outbox_dead = self.counter("outbox_dead_lettered", "Outbox rows dead-lettered (attempts exhausted)",
                                         ["sink"])
        # ---- webhook endpoints (shared/webhook_endpoints/) ------------------------------------
        self._webhook_attempt_failures = self.counter("webhook_attempt_failures",
                                                      "Failed attempts to deliver to a registered webhook endpoint")
        self._webhook_deliveries_failed = self.counter("webhook_deliveries_failed",
                                                       "Webhook deliveries that ran out of attempts")
        self._webhook_endpoints_disabled = self.counter("webhook_endpoints_disabled",
                                                        "Webhook endpoints disabled by a delivery out of attempts")
        self.webhook_disabled_endpoints = self.gauge("webhook_disabled_endpoints",
                                                     "Webhook endpoints currently disabled")
        self.webhook_held_deliveries = self.gauge("webhook_held_deliveries",
                                                  "Deliveries held behind a disabled webhook endpoint")

    # ---- building ---------------------------------------------------------------------------

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter on this registry; the `service` label comes first and is filled in."""
        return self._metric(Counter, name, documentation, labels)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return self._metric(Gauge, name, documentation, labels)

    def _metric(self, kind: type, name: str, documentation: str, labels: Sequence[str]) -> Any:
        if name not in self._by_name:
            metric = kind(name, documentation, ["service", *labels], registry=self.registry)
            if not labels:
                metric.labels(self.service)  # exported from the start (0), so `increase()` sees the first one
            self._by_name[name] = metric
        return self._by_name[name]

    def on_event(self, event_types: Iterable[str], callback: EventCallback) -> None:
        """Call `callback` with each event of these types once its transaction has committed."""
        for event_type in event_types:
            self._on_event.setdefault(event_type, []).append(callback)

    def on_scrape(self, callback: ScrapeCallback) -> None:
        """Refresh gauges from the database when /metrics is read."""
        self._on_scrape.append(callback)

    # ---- feeding ----------------------------------------------------------------------------

    @property
    def counts_events(self) -> bool:
        return bool(self._on_event)

    def committed(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            for callback in self._on_event.get(event["type"], ()):
                try:
                    callback(event)
                except Exception:  # noqa: BLE001 - a metric must never fail the work it counts
                    log.exception("metric callback failed", extra={"event_type": event["type"]})

    async def scrape(self, session: AsyncSession, now: datetime) -> None:
        for callback in self._on_scrape:
            await callback(session, now)

    def outbox_failed(self, sink: str, *, dead: bool) -> None:
        label = self._sink(sink)
        self._outbox_failures.labels(self.service, label).inc()
        if dead:
            self._outbox_dead.labels(self.service, label).inc()

    def webhook_attempt_failed(self, *, delivery_failed: bool, endpoint_disabled: bool) -> None:
        self._webhook_attempt_failures.labels(self.service).inc()
        if delivery_failed:
            self._webhook_deliveries_failed.labels(self.service).inc()
        if endpoint_disabled:
            self._webhook_endpoints_disabled.labels(self.service).inc()

    def set(self, gauge: Gauge, value: float, *labels: str) -> None:
        gauge.labels(self.service, *labels).set(value)
