"""SLA monitoring: a warning at 75 % of the reaction target used, a breach at 100 %, each raised
once (`ticket.sla_warning`, `ticket.sla_breached`); warnings only while the plan's hours are
open, so someone is on duty to act. Breaches inside a declared force-majeure or security-pause
window are excused, not erased (R-T6, R-T10). Safe with several replicas: candidate tickets are
claimed with SKIP LOCKED and the flags are set in the same transaction as the events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.tickets.repository import tickets as repo
from services.tickets.models import OutageWindow, Ticket
from services.tickets.service.sla import hours_calendar, minutes_used, target_minutes
from services.tickets.service.tickets import TicketService


@dataclass
class ScanResult:
    as_of: datetime
    warned: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)


def excused_by(windows: list[OutageWindow], ticket: Ticket) -> OutageWindow | None:
    for window in windows:
        if not window.products or ticket.product_id in window.products:
            return window
    return None


SLA_LOOP = "sla_scan"  # the runtime's background loop of SLA scans (main.py)


class SlaMonitor:
    def __init__(self, tickets: TicketService, warning_ratio: float) -> None:
        self.tickets, self.warning_ratio = tickets, warning_ratio
        self.session = tickets.session

    async def scan(self, as_of: datetime) -> ScanResult:
        result = ScanResult(as_of=as_of)
        for ticket in await repo.awaiting_reaction(self.session):
            if ticket.reaction_due_at is None:
                continue
            if as_of >= ticket.reaction_due_at:
                await self._breach(ticket)
                result.breached.append(ticket.id)
            elif ticket.sla_warned_at is None and await self._should_warn(ticket, as_of):
                ticket.sla_warned_at = as_of
                await self.tickets.record(ticket, "sla_warning", "sla-monitor", {"as_of": as_of.isoformat()})
                self.tickets.uow.events.emit("ticket.sla_warning", self.tickets.event_data(
                    ticket, warned_at=as_of.isoformat()), subject=ticket.id)
                result.warned.append(ticket.id)
        return result

    async def _should_warn(self, ticket: Ticket, as_of: datetime) -> bool:
        if not hours_calendar(ticket.policy).is_open(as_of):
            return False  # nobody is on duty: warn when the hours open, if still in time
        pauses = await self.tickets.pause_intervals(ticket)
        used = minutes_used(ticket.policy, ticket.accepted_at, as_of, pauses)
        return used >= self.warning_ratio * target_minutes(ticket.policy)

    async def _breach(self, ticket: Ticket) -> None:
        assert ticket.reaction_due_at is not None
        ticket.sla_breached_at = ticket.reaction_due_at
        window = excused_by(list(await repo.outages_covering(self.session, ticket.reaction_due_at)), ticket)
        ticket.sla_excused = window is not None
        contractual = bool(ticket.policy["reaction"].get("contractual", True))
        data = {"due_at": ticket.reaction_due_at.isoformat(), "contractual": contractual,
                "kind": "breach" if contractual else "estimate_exceeded", "excused": ticket.sla_excused,
                "outage_window_id": window.id if window else None}
        await self.tickets.record(ticket, "sla_breached", "sla-monitor", data)
        self.tickets.uow.events.emit("ticket.sla_breached", self.tickets.event_data(ticket, **data), subject=ticket.id)
