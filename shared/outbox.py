"""Transactional outbox: events are written with the change that causes them and delivered by
a relay after commit, at least once, with exponential backoff.

Rows are claimed with a lease (`locked_until`) taken under `FOR UPDATE SKIP LOCKED` on
PostgreSQL, so several replicas relay without delivering one row twice at the same time, and a
relay that dies mid-delivery only delays the row until its lease runs out. Delivery is at least
once; while deliveries succeed a sink gets its events in id order, but a message backing off
after a failure does not hold back the rest of its sink (no head-of-line blocking), so consumers
must tolerate reordering (they apply events idempotently and check state, not sequence).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Protocol

from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bulk import insert_many
from shared.clock import Clock
from shared.context import current_request_id
from shared.db import Database
from shared.ids import new_id
from shared.infra_models import OutboxMessage
from shared.metrics import ServiceMetrics
from shared.settings import EventSink, ServiceSettings
from shared.tasks import WakeableLoop, drain_rounds

log = logging.getLogger("shared.outbox")

NO_SINK = "-"  # an event nobody subscribes to is kept (audit) and marked delivered at once


def envelope(*, event_id: str, event_type: str, source: str, occurred_at: datetime, subject: str | None,
             data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "source": source, "occurred_at": occurred_at.isoformat(),
            "subject": subject, "data": data}


def sinks_for(event_type: str, sinks: dict[str, EventSink]) -> list[str]:
    return [name for name, sink in sinks.items() if any(fnmatch.fnmatchcase(event_type, p) for p in sink.events)]


def outbox_rows(*, event_type: str, data: dict[str, Any], subject: str | None, source: str, now: datetime,
                sinks: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One event as its envelope and its outbox rows (one per sink; an event nobody subscribes
    to gets one row for `NO_SINK`, marked delivered at once)."""
    body = envelope(event_id=new_id("evt"), event_type=event_type, source=source, occurred_at=now,
                    subject=subject, data=data)
    rows = [{"event_id": body["id"], "event_type": event_type, "sink": sink, "payload": body,
             "request_id": current_request_id(), "created_at": now, "next_attempt_at": now, "attempts": 0,
             "delivered_at": now if sink == NO_SINK else None} for sink in (sinks or [NO_SINK])]
    return body, rows


class OutboxWriter:
    """Bound to one unit of work: `emit` adds rows to the session, nothing leaves before commit.

    `on_commit`, if given, gets the events emitted since the last commit once the session's
    transaction has committed (a rollback drops them): domain counters count committed events
    (shared/metrics.py). It is hooked to the session only by the first `emit`, so read-only
    units of work pay nothing."""

    def __init__(self, session: AsyncSession, clock: Clock, source: str,
                 resolve_sinks: Callable[[str], Iterable[str]],
                 on_commit: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.session, self.clock, self.source = session, clock, source
        self.resolve_sinks = resolve_sinks
        self.emitted: list[dict[str, Any]] = []
        self.to_deliver = False  # any row for a real sink (the relay has work after commit)
        self.on_commit = on_commit
        self._reported = 0  # events in `emitted` already committed (and reported) or rolled back
        self._hooked = False

    def emit(self, event_type: str, data: dict[str, Any], *, subject: str | None = None) -> str:
        sinks = list(self.resolve_sinks(event_type))
        body, rows = outbox_rows(event_type=event_type, data=data, subject=subject, source=self.source,
                                 now=self.clock.now(), sinks=sinks)
        self.to_deliver = self.to_deliver or bool(sinks)
        self.session.add_all([OutboxMessage(**row) for row in rows])
        self.emitted.append(body)
        if self.on_commit is not None and not self._hooked:
            self._hook()
        return body["id"]

    async def emit_many(self, event_type: str, events: Iterable[tuple[dict[str, Any], str | None]]) -> int:
        """Many events of one type (data, subject) in one multi-row INSERT: batch work (the billing
        run) writes thousands per transaction, where an ORM object per row would cost more than
        the work itself. Same rows and the same commit accounting as `emit`."""
        sinks, now = list(self.resolve_sinks(event_type)), self.clock.now()
        rows: list[dict[str, Any]] = []
        for data, subject in events:
            body, event_rows = outbox_rows(event_type=event_type, data=data, subject=subject, source=self.source,
                                           now=now, sinks=sinks)
            rows += event_rows
            self.emitted.append(body)
        if not rows:
            return 0
        await insert_many(self.session, OutboxMessage.__table__, rows)  # type: ignore[attr-defined]
        self.to_deliver = self.to_deliver or bool(sinks)
        if self.on_commit is not None and not self._hooked:
            self._hook()
        return len(rows)

    def _hook(self) -> None:
        sync = self.session.sync_session
        event.listen(sync, "after_commit", self._committed)
        event.listen(sync, "after_rollback", self._rolled_back)
        self._hooked = True

    def _committed(self, _session: Any) -> None:
        fresh, self._reported = self.emitted[self._reported:], len(self.emitted)
        if fresh and self.on_commit is not None:
            self.on_commit(fresh)

    def _rolled_back(self, _session: Any) -> None:
        self._reported = len(self.emitted)


class Deliverer(Protocol):
    async def __call__(self, sink: str, message: OutboxMessage) -> None:
        """Deliver or raise."""


async def close_deliverers(deliverers: Iterable[Any]) -> None:
    """Close every distinct deliverer that can be closed, even when one of them fails (the first
    failure is raised after all were tried)."""
    seen: list[Any] = []
    errors: list[BaseException] = []
    for deliverer in deliverers:
        if any(deliverer is s for s in seen):
            continue
        seen.append(deliverer)
        close = getattr(deliverer, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception as exc:  # noqa: BLE001 - close the others, then report
                errors.append(exc)
    if errors:
        raise errors[0]


def _setting(name: str) -> Any:
    """The default of the service setting `relay_<name>`: the defaults are written once, there."""
    return ServiceSettings.model_fields[f"relay_{name}"].default


@dataclass
class RelayPolicy:
    batch_size: int = _setting("batch_size")
    lease_seconds: int = _setting("lease_seconds")
    max_attempts: int = _setting("max_attempts")
    backoff_base: float = _setting("backoff_base")
    backoff_max: float = _setting("backoff_max")
    poll_interval: float = _setting("poll_interval")

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> "RelayPolicy":
        return cls(**{f.name: getattr(settings, f"relay_{f.name}") for f in fields(cls)})

    def backoff(self, attempts: int) -> timedelta:
        """Full-jitter exponential backoff: base·2^(n-1), capped, times a random factor in [0.5, 1]."""
        delay = min(self.backoff_max, self.backoff_base * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))


class OutboxRelay:
    def __init__(self, db: Database, clock: Clock, deliver: Deliverer, policy: RelayPolicy | None = None,
                 metrics: ServiceMetrics | None = None) -> None:
        self.db, self.clock, self.deliver = db, clock, deliver
        self.policy = policy or RelayPolicy()
        self.metrics = metrics
        self.loop = WakeableLoop(self.run_once, name="outbox-relay", poll_interval=self.policy.poll_interval, log=log)

    def wake(self) -> None:
        self.loop.wake()

    async def _claim(self) -> list[OutboxMessage]:
        now = self.clock.now()
        async with self.db.transaction() as session:
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None),
                       OutboxMessage.next_attempt_at <= now,
                       or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
                .order_by(OutboxMessage.id)
                .limit(self.policy.batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = list((await session.execute(stmt)).scalars())
            if rows:
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]))
                    .values(locked_until=now + timedelta(seconds=self.policy.lease_seconds))
                )
            return rows

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many rows were delivered."""
        rows = await self._claim()
        if not rows:
            return 0
        by_sink: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_sink[row.sink].append(row)
        results = await asyncio.gather(*(self._deliver_sink(msgs) for msgs in by_sink.values()))
        return sum(results)

    async def _deliver_sink(self, messages: list[OutboxMessage]) -> int:
        """Delivers a sink's messages in order; the delivered ones are marked in one statement
        when the batch ends (a crash before it only redelivers them: at least once)."""
        delivered: list[int] = []
        try:
            for index, message in enumerate(messages):
                try:
                    await self.deliver(message.sink, message)
                except Exception as exc:  # noqa: BLE001 - any failure is retried
                    await self._record_failure(message, exc)
                    await self._release(messages[index + 1:])
                    break
                delivered.append(message.id)  # type: ignore[arg-type]
        finally:
            if delivered:
                async with self.db.transaction() as session:
                    await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(delivered))
                                          .values(delivered_at=self.clock.now(), locked_until=None))
        return len(delivered)

    async def _record_failure(self, message: OutboxMessage, exc: Exception) -> None:
        attempts = message.attempts + 1
        now = self.clock.now()
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= self.policy.max_attempts:
            log.error("outbox message dead-lettered", extra={"event_id": message.event_id, "sink": message.sink,
                                                            "error": error})
            await self._mark(message.id, attempts=attempts, failed_at=now, last_error=error, locked_until=None)
        else:
            log.warning("outbox delivery failed; will retry", extra={"event_id": message.event_id,
                                                                     "sink": message.sink, "attempts": attempts,
                                                                     "error": error})
            await self._mark(message.id, attempts=attempts, last_error=error, locked_until=None,
                             next_attempt_at=now + self.policy.backoff(attempts))
        if self.metrics is not None:
            self.metrics.outbox_failed(message.sink, dead=attempts >= self.policy.max_attempts)

    async def _release(self, messages: list[OutboxMessage]) -> None:
        if messages:
            async with self.db.transaction() as session:
                await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([m.id for m in messages]))
                                      .values(locked_until=None))

    async def _mark(self, message_id: int | None, **values: Any) -> None:
        async with self.db.transaction() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))

    async def drain(self, max_rounds: int = 100) -> int:
        """Deliver until nothing is due (tests and CLI)."""
        return await drain_rounds(self.run_once, max_rounds)

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()


def pending_filter() -> Any:
    return and_(OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None))

