"""SLA monitoring: a warning at 75 % of the reaction target used, a breach at 100 %, each raised
once (`ticket.sla_warning`, `ticket.sla_breached`); warnings only while the plan's hours are
open, so someone is on duty to act. Breaches inside a declared force-majeure or security-pause
window are excused, not erased (R-T6, R-T10).

Each ticket stores its next SLA instant (`sla_next_check_at`, service/sla_schedule.py). A scan
reads the index range `sla_next_check_at <= as_of` in chunks, each chunk one unit of work whose
tickets are claimed with SKIP LOCKED, until none is due: several replicas share one scan, and
the flags, the next instant and the events are written in the same transaction, so each warning
and breach is emitted once. Every ticket a chunk handles gets an instant after `as_of` (or none),
so the loop ends."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from services.tickets.clients import EntitlementsClient
from services.tickets.models import OutageWindow, Ticket, TicketEvent
from services.tickets.repository import tickets as repo
from services.tickets.service.sla import Pause, hours_calendar
from services.tickets.service.sla_schedule import awaiting_reaction, pending_warning
from services.tickets.service.tickets import TicketService
from services.tickets.settings import TicketsSettings
from shared.bulk import insert_many
from shared.runtime import Runtime


@dataclass
class ScanResult:
    as_of: datetime
    warned: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    checked: int = 0  # tickets whose instant had come (warned, breached or rescheduled)


def excused_by(windows: Sequence[OutageWindow], ticket: Ticket) -> OutageWindow | None:
    """The window the ticket's deadline falls in, for its product (R-T6, R-T10)."""
    assert ticket.reaction_due_at is not None
    for window in windows:
        if window.starts_at <= ticket.reaction_due_at < window.ends_at and (
                not window.products or ticket.product_id in window.products):
            return window
    return None


SLA_LOOP = "sla_scan"  # the runtime's background loop of SLA scans (main.py)


class SlaMonitor:
    """Judges one claimed chunk inside its unit of work. The chunk's history entries and events are
    written set-based at its end (one COPY of entries, one multi-row outbox INSERT per event type):
    an ORM object per entry and per outbox row cost more than the judging itself."""

    def __init__(self, tickets: TicketService, warning_ratio: float) -> None:
        self.tickets, self.warning_ratio = tickets, warning_ratio
        self.session = tickets.session
        self._history: list[dict[str, Any]] = []
        self._events: dict[str, list[tuple[dict[str, Any], str | None]]] = defaultdict(list)

    async def check(self, chunk: Sequence[Ticket], as_of: datetime, result: ScanResult) -> None:
        pauses = await self._pauses(chunk)
        breaching = [t for t in chunk if awaiting_reaction(t) and as_of >= t.reaction_due_at]  # type: ignore[operator]
        windows = await self._windows(breaching)
        for ticket in chunk:
            result.checked += 1
            if not awaiting_reaction(ticket):
                ticket.sla_next_check_at = None  # nothing runs any more (a stale instant)
                continue
            assert ticket.reaction_due_at is not None
            if as_of >= ticket.reaction_due_at:
                self._breach(ticket, windows)
                result.breached.append(ticket.id)
                continue
            warn = pending_warning(ticket, pauses[ticket.id], self.warning_ratio)
            hours = hours_calendar(ticket.policy)
            if warn is None:
                ticket.sla_next_check_at = ticket.reaction_due_at
            elif as_of < warn:
                ticket.sla_next_check_at = warn  # stored too early (a migrated row): its real instant
            elif hours.is_open(as_of):
                self._warn(ticket, as_of)
                result.warned.append(ticket.id)
            else:  # nobody is on duty: warn when the hours open, if still in time
                ticket.sla_next_check_at = min(ticket.reaction_due_at, hours.next_opening(as_of))
        await insert_many(self.session, TicketEvent.__table__, self._history)  # type: ignore[attr-defined]
        await self.tickets.uow.events.emit_many("ticket.sla_warning", self._events["ticket.sla_warning"])
        await self.tickets.uow.events.emit_many("ticket.sla_breached", self._events["ticket.sla_breached"])
        self._history, self._events = [], defaultdict(list)
        await self.session.flush()

    async def _pauses(self, chunk: Sequence[Ticket]) -> dict[str, list[Pause]]:
        now, out = self.tickets.now(), defaultdict(list)
        for pause in await repo.pauses_of(self.session, [t.id for t in chunk]):
            out[pause.ticket_id].append((pause.started_at, pause.ended_at or now))
        return out

    async def _windows(self, breaching: Sequence[Ticket]) -> Sequence[OutageWindow]:
        dues = [t.reaction_due_at for t in breaching if t.reaction_due_at is not None]
        return await repo.outages_covering(self.session, min(dues), max(dues)) if dues else []

    def _warn(self, ticket: Ticket, as_of: datetime) -> None:
        ticket.sla_warned_at = as_of
        ticket.sla_next_check_at = ticket.reaction_due_at
        self._history.append(self.tickets.history_row(ticket, "sla_warning", "sla-monitor",
                                                      {"as_of": as_of.isoformat()}))
        self._events["ticket.sla_warning"].append(
            (self.tickets.event_data(ticket, warned_at=as_of.isoformat()), ticket.id))

    def _breach(self, ticket: Ticket, windows: Sequence[OutageWindow]) -> None:
        assert ticket.reaction_due_at is not None
        ticket.sla_breached_at = ticket.reaction_due_at
        ticket.sla_next_check_at = None
        window = excused_by(windows, ticket)
        ticket.sla_excused = window is not None
        contractual = bool(ticket.policy["reaction"].get("contractual", True))
        data = {"due_at": ticket.reaction_due_at.isoformat(), "contractual": contractual,
                "kind": "breach" if contractual else "estimate_exceeded", "excused": ticket.sla_excused,
                "outage_window_id": window.id if window else None}
        self._history.append(self.tickets.history_row(ticket, "sla_breached", "sla-monitor", data))
        self._events["ticket.sla_breached"].append((self.tickets.event_data(ticket, **data), ticket.id))


async def scan(runtime: Runtime, as_of: datetime, *, entitlements: EntitlementsClient | None = None,
               chunk_size: int | None = None) -> ScanResult:
    """Every ticket whose SLA instant is at or before `as_of`, chunk after chunk, each chunk its
    own transaction, until none is left (rows another replica holds are that replica's)."""
    settings: TicketsSettings = runtime.settings  # type: ignore[assignment]
    size = chunk_size or settings.sla_scan_chunk_size
    result = ScanResult(as_of=as_of)
    while True:
        async with runtime.work() as uow:
            chunk = await repo.due_for_sla_check(uow.session, as_of, limit=size)
            if not chunk:
                return result
            tickets = TicketService(uow, settings, entitlements)  # type: ignore[arg-type]
            await SlaMonitor(tickets, settings.sla_warning_ratio).check(chunk, as_of, result)
            await uow.commit()


async def scan_once(runtime: Runtime, now: datetime) -> int:
    """One full scan as of `now` (for benchmarks and jobs); returns how many tickets it handled."""
    return (await scan(runtime, now)).checked
