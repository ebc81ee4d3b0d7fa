"""Tickets: filing (with the entitlement snapshot and due times), life cycle, messages.

`new → open → awaiting_customer → open → resolved → closed`; reopen within 14 days of
resolution. Waiting for the customer pauses the SLA clock (R-T2); the first public agent reply
meets the reaction target (R-T4). Every change is in the ticket's history and emitted as an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.tickets.repository import tickets as repo
from services.tickets.clients import EntitlementsClient
from services.tickets.errors import InvalidTicketTransition, ReopenWindowOver, TicketClosed, TicketNotFound
from services.tickets.models import Attachment, Ticket, TicketEvent, TicketMessage, TicketPause
from services.tickets.schemas.tickets import AttachmentIn, TicketIn
from services.tickets.service.filing import (
    actor_kind, check_attachments, event_data, new_message, prepare_filing,
)
from services.tickets.service.queue import QueuePage, queue_key, sla_state as sla_state_of
from services.tickets.service.sla import due_times, explain
from services.tickets.service.sla_schedule import awaiting_reaction, next_check
from services.tickets.settings import TicketsSettings
from services.tickets.statuses import TicketStatus
from shared.auth import Principal
from shared.atomic_create import core_statement
from shared.queries import found
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Thread:
    messages: list[TicketMessage]
    attachments: list[Attachment]
    explanation: str | None  # how the reaction deadline was computed


class TicketService:
    def __init__(self, uow: UnitOfWork, settings: TicketsSettings, entitlements: EntitlementsClient) -> None:
        self.uow, self.settings, self.entitlements = uow, settings, entitlements
        self.session = uow.session

    def now(self) -> datetime:
        return self.uow.clock.now()

    # ---- reading -----------------------------------------------------------------------------

    async def get(self, ticket_id: str, *, for_update: bool = False, seen_by: Principal | None = None) -> Ticket:
        return found(await repo.get_ticket(self.session, ticket_id, for_update=for_update),
                     TicketNotFound(f"ticket {ticket_id!r} does not exist"), seen_by=seen_by)

    async def visible(self, ticket_id: str, principal: Principal, *, for_update: bool = False) -> Ticket:
        """The ticket, or 404 when it is another customer's (no existence leak)."""
        return await self.get(ticket_id, for_update=for_update, seen_by=principal)

    async def pause_intervals(self, ticket: Ticket) -> list[tuple[datetime, datetime]]:
        now = self.now()
        return [(p.started_at, p.ended_at or now) for p in await repo.pauses(self.session, ticket.id)]

    async def queue(self, principal: Principal, *, statuses: Sequence[str], assignee: str | None,
                    product_id: str | None, customer_id: str | None, sla_state: str | None, after: str | None,
                    limit: int) -> QueuePage:
        """The agent queue (R-S3): priority first, then time to breach (`queue_key` order); a
        customer sees only its own. The SLA state depends on now, so it filters the rows read,
        page after page, until `limit` match. A full page always has a next key."""
        customer_id = principal.customer_filter(customer_id)
        now = self.now()
        matched: list[Ticket] = []
        while len(matched) < limit:
            page = await repo.queue(self.session, customer_id=customer_id, statuses=statuses, assignee=assignee,
                                    product_id=product_id, after=after, limit=limit)
            for ticket in page.rows:
                after = ticket.queue_key
                if sla_state is None or sla_state_of(ticket, now) == sla_state:
                    matched.append(ticket)
                    if len(matched) == limit:
                        break
            if page.next_after is None:
                break
        return QueuePage(matched, after if len(matched) == limit else None, now)

    async def thread(self, ticket: Ticket, principal: Principal) -> Thread:
        """The messages the principal may see (customers: public ones only), their attachments,
        and how the ticket's reaction deadline was computed."""
        messages = list(await self._messages(ticket.id, principal))
        attachments = list(await repo.attachments_of(self.session, [m.id for m in messages]))
        explanation = explain(ticket.policy, ticket.accepted_at, await self.pause_intervals(ticket)).text
        return Thread(messages, attachments, explanation)

    async def history(self, ticket_id: str, principal: Principal) -> Sequence[TicketEvent]:
        await self.visible(ticket_id, principal)
        return await repo.history(self.session, ticket_id)

    async def attachment(self, ticket_id: str, attachment_id: str, principal: Principal) -> Attachment:
        """An attachment of a message of this ticket the principal may see (else 404)."""
        await self.visible(ticket_id, principal)
        visible = {m.id for m in await self._messages(ticket_id, principal)}
        return found(await self.session.get(Attachment, attachment_id),
                     TicketNotFound("no such attachment on this ticket"), visible=lambda a: a.message_id in visible)

    async def _messages(self, ticket_id: str, principal: Principal) -> Sequence[TicketMessage]:
        return await repo.messages(self.session, ticket_id, public_only=principal.customer_id is not None)

    # ---- filing ------------------------------------------------------------------------------

    async def file(self, data: TicketIn, principal: Principal) -> Ticket:
        return (await self.file_thread(data, principal))[0]

    async def file_thread(self, data: TicketIn, principal: Principal
                          ) -> tuple[Ticket, TicketMessage, list[Attachment]]:
        """Files a ticket inside this unit of work (the mail channel); returns it with its first
        message and attachments. The API writes the same rows in one statement (api/tickets.py)."""
        filing = await prepare_filing(self.settings, self.entitlements, data, principal, self.now())
        dialect = self.session.get_bind().dialect.name
        for row in filing.rows():
            await self.session.execute(core_statement(row, dialect))
        self.uow.events.emit(filing.event.type, filing.event.data, subject=filing.event.subject)
        return filing.ticket, filing.message, filing.attachments

    def event_data(self, ticket: Ticket, **extra: Any) -> dict[str, Any]:
        return event_data(ticket, **extra)

    # ---- history and messages ----------------------------------------------------------------

    async def record(self, ticket: Ticket, kind: str, actor: str, data: dict[str, Any] | None = None, *,
                     flush: bool = True) -> None:
        self.session.add(TicketEvent(**self.history_row(ticket, kind, actor, data)))
        if flush:
            await self.session.flush()

    def history_row(self, ticket: Ticket, kind: str, actor: str, data: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
        """What `record` does to the ticket, and its history entry as a row, for batch work that
        writes a chunk's entries in one statement (the SLA scan)."""
        ticket.updated_at = self.now()
        ticket.queue_key = queue_key(ticket)
        self._keep_sla_check(ticket)
        return {"ticket_id": ticket.id, "at": self.now(), "kind": kind, "actor": actor, "data": data or {}}

    def _keep_sla_check(self, ticket: Ticket) -> None:
        """Whatever changed, a ticket whose reaction clock stopped has no SLA instant, and one whose
        clock runs has one (now, when unknown: the next scan stores the real one). The changes that
        move the clock store the real instant themselves (`reschedule_sla`)."""
        if not awaiting_reaction(ticket):
            ticket.sla_next_check_at = None
        elif ticket.sla_next_check_at is None:
            ticket.sla_next_check_at = self.now()

    async def reschedule_sla(self, ticket: Ticket, pauses: Sequence[tuple[datetime, datetime]] | None = None) -> None:
        """Stores the ticket's next SLA instant (service/sla_schedule.py) after its clock changed."""
        if pauses is None:
            pauses = await self.pause_intervals(ticket) if awaiting_reaction(ticket) else []
        ticket.sla_next_check_at = next_check(ticket, pauses, self.settings.sla_warning_ratio)

    async def _flush_message(self, ticket: Ticket, author: str, kind: str, visibility: str, body: str, channel: str,
                             attachments: list[AttachmentIn] = ()  # type: ignore[assignment]
                             ) -> tuple[TicketMessage, list[Attachment]]:
        """Writes a message, then its attachments (if any)."""
        message, added = new_message(ticket.id, self.now(), author, kind, visibility, body, channel, attachments)
        self.session.add(message)
        await self.session.flush()
        if added:
            self.session.add_all(added)
            await self.session.flush()
        return message, added

    async def _add_message(self, ticket: Ticket, author: str, kind: str, visibility: str, body: str, channel: str,
                           attachments: list[AttachmentIn] = ()) -> TicketMessage:  # type: ignore[assignment]
        return (await self._flush_message(ticket, author, kind, visibility, body, channel, attachments))[0]

    def _not_closed(self, ticket: Ticket) -> None:
        if ticket.status == TicketStatus.CLOSED:
            raise TicketClosed(f"ticket {ticket.id} is closed; open a new one")

    async def reply(self, ticket_id: str, principal: Principal, body: str, visibility: str,
                    attachments: list[AttachmentIn], channel: str = "api") -> TicketMessage:
        ticket = await self.visible(ticket_id, principal, for_update=True)
        self._not_closed(ticket)
        check_attachments(self.settings, attachments)
        kind = actor_kind(principal)
        if kind == "customer":
            visibility = "public"  # customers cannot write internal notes
        message = await self._add_message(ticket, principal.sub, kind, visibility, body, channel, attachments)
        if kind == "customer":
            await self._customer_replied(ticket, principal.sub)
        elif visibility == "public":
            await self._agent_replied(ticket, principal.sub)
        await self.record(ticket, "message", principal.sub, {"message_id": message.id, "visibility": visibility,
                                                              "author_kind": kind})
        if visibility == "public":
            self.uow.events.emit("ticket.replied", self.event_data(ticket, message_id=message.id, author_kind=kind,
                                                                   body=body), subject=ticket.id)
        return message

    async def _agent_replied(self, ticket: Ticket, actor: str) -> None:
        await self.agent_reacted(ticket, actor, self.now())

    async def agent_reacted(self, ticket: Ticket, actor: str, at: datetime) -> None:
        """R-T4: the first public agent action (a public reply, or the start of a remote session,
        which may be reported after it began) meets the reaction target."""
        if ticket.first_response_at is None:
            ticket.first_response_at = at
            await self.record(ticket, "first_response", actor, {
                "within_target": ticket.reaction_due_at is None or ticket.first_response_at <= ticket.reaction_due_at})
        if ticket.status == TicketStatus.NEW:
            await self._set_status(ticket, "open", actor)

    async def _customer_replied(self, ticket: Ticket, actor: str) -> None:
        if ticket.status == TicketStatus.AWAITING_CUSTOMER:
            await self._resume(ticket, actor)
        elif ticket.status == TicketStatus.RESOLVED:
            await self.reopen(ticket.id, None, actor_override=actor)

    async def _set_status(self, ticket: Ticket, status: str, actor: str, **data: Any) -> None:
        before, ticket.status = ticket.status, status
        await self.record(ticket, "status_changed", actor, {"from": before, "to": status, **data})

    # ---- life cycle --------------------------------------------------------------------------

    async def request_details(self, ticket_id: str, principal: Principal, body: str) -> Ticket:
        """R-T2: ask the customer to complete the description; the clock pauses meanwhile."""
        ticket = await self.visible(ticket_id, principal, for_update=True)
        if ticket.status not in (TicketStatus.NEW, TicketStatus.OPEN):
            raise InvalidTicketTransition(f"ticket {ticket.id} is {ticket.status}; details can be requested only "
                                          "from a new or open ticket")
        await self._add_message(ticket, principal.sub, "agent", "public", body, "api")
        self.session.add(TicketPause(ticket_id=ticket.id, started_at=self.now()))
        await self._set_status(ticket, "awaiting_customer", principal.sub)
        self.uow.events.emit("ticket.replied", self.event_data(ticket, author_kind="agent", body=body,
                                                               awaiting_customer=True), subject=ticket.id)
        return ticket

    async def _resume(self, ticket: Ticket, actor: str) -> None:
        """The customer answered: the pause ends and the due times move by the paused time."""
        pause = await repo.open_pause(self.session, ticket.id)
        if pause is not None:
            pause.ended_at = self.now()
            await self.session.flush()
        pauses = await self.pause_intervals(ticket)
        due = due_times(ticket.policy, ticket.accepted_at, pauses)
        ticket.reaction_due_at, ticket.limit_due_at = due.reaction_due_at, due.limit_due_at
        await self._set_status(ticket, "open", actor, reaction_due_at=due.reaction_due_at.isoformat())
        await self.reschedule_sla(ticket, pauses)

    async def resolve(self, ticket_id: str, principal: Principal, note: str | None) -> Ticket:
        ticket = await self.visible(ticket_id, principal, for_update=True)
        if ticket.status not in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.AWAITING_CUSTOMER):
            raise InvalidTicketTransition(f"ticket {ticket.id} is {ticket.status}; it cannot be resolved")
        pause = await repo.open_pause(self.session, ticket.id)
        if pause is not None:
            pause.ended_at = self.now()
        ticket.resolved_at = self.now()
        await self._set_status(ticket, "resolved", principal.sub, note=note)
        self.uow.events.emit("ticket.resolved", self.event_data(ticket, note=note), subject=ticket.id)
        return ticket

    async def reopen(self, ticket_id: str, principal: Principal | None, *, actor_override: str | None = None) -> Ticket:
        ticket = (await self.visible(ticket_id, principal, for_update=True) if principal is not None
                  else await self.get(ticket_id, for_update=True))
        actor = actor_override or (principal.sub if principal else "system")
        self._not_closed(ticket)
        if ticket.status != TicketStatus.RESOLVED:
            raise InvalidTicketTransition(f"ticket {ticket.id} is {ticket.status}; only a resolved ticket is reopened")
        assert ticket.resolved_at is not None
        if self.now() > ticket.resolved_at + timedelta(days=self.settings.reopen_days):
            raise ReopenWindowOver(f"ticket {ticket.id} was resolved on {ticket.resolved_at:%Y-%m-%d}; reopening "
                                   f"is possible for {self.settings.reopen_days} days")
        ticket.resolved_at = None
        await self._set_status(ticket, "open", actor, reopened=True)
        await self.reschedule_sla(ticket)
        return ticket

    async def close(self, ticket_id: str, principal: Principal) -> Ticket:
        ticket = await self.visible(ticket_id, principal, for_update=True)
        if ticket.status != TicketStatus.RESOLVED:
            raise InvalidTicketTransition(f"ticket {ticket.id} is {ticket.status}; only a resolved ticket is closed")
        ticket.closed_at = self.now()
        await self._set_status(ticket, "closed", principal.sub)
        return ticket

    async def assign(self, ticket_id: str, principal: Principal, assignee: str | None) -> Ticket:
        ticket = await self.visible(ticket_id, principal, for_update=True)
        self._not_closed(ticket)
        before, ticket.assignee = ticket.assignee, assignee
        await self.record(ticket, "assigned", principal.sub, {"from": before, "to": assignee})
        return ticket
