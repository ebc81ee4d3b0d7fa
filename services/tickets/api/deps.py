"""Dependencies and response builders shared by the tickets routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from services.tickets.models import Attachment, Ticket, TicketMessage
from services.tickets.schemas.tickets import AttachmentOut, MessageOut, SlaOut, TicketDetailOut, TicketOut
from services.tickets.service.queue import sla_state
from services.tickets.service.tickets import TicketService
from shared.auth import Principal
from shared.web.auth import scoped  # noqa: F401 - scoped is re-exported to the routes
from shared.web.uow import UoW


async def ticket_service(request: Request, uow: UoW) -> TicketService:
    state = request.app.state
    return TicketService(uow, state.runtime.settings, state.entitlements)


Tickets = Annotated[TicketService, Depends(ticket_service)]


def sla_out(ticket: Ticket, now: datetime, explanation: str | None = None) -> SlaOut:
    return SlaOut(state=sla_state(ticket, now), reaction_due_at=ticket.reaction_due_at,
                  limit_due_at=ticket.limit_due_at,
                  first_response_at=ticket.first_response_at, warned_at=ticket.sla_warned_at,
                  breached_at=ticket.sla_breached_at, excused=ticket.sla_excused,
                  contractual=bool(ticket.policy["reaction"].get("contractual", True)), explanation=explanation)


def ticket_out(ticket: Ticket, now: datetime) -> TicketOut:
    return TicketOut(**_ticket_fields(ticket, now))


def _ticket_fields(ticket: Ticket, now: datetime, explanation: str | None = None) -> dict[str, Any]:
    plan = {k: ticket.policy[k] for k in ("plan_id", "plan_version", "plan_name", "source", "contract_id")}
    return dict(
        id=ticket.id, customer_id=ticket.customer_id, product_id=ticket.product_id,
        licence_reference=ticket.licence_reference, subject=ticket.subject, description=ticket.description,
        category=ticket.category, channel=ticket.channel, contact=ticket.contact, status=ticket.status,  # type: ignore[arg-type]
        priority=ticket.priority, out_of_scope=ticket.out_of_scope, scope_note=ticket.scope_note, plan=plan,
        assignee=ticket.assignee, accepted_at=ticket.accepted_at, resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at, sla=sla_out(ticket, now, explanation))


async def ticket_detail(tickets: TicketService, ticket: Ticket, principal: Principal) -> TicketDetailOut:
    """The ticket with the thread the principal may see."""
    thread = await tickets.thread(ticket, principal)
    return thread_detail(ticket, thread.messages, thread.attachments, tickets.now(), thread.explanation)


def thread_detail(ticket: Ticket, messages: list[TicketMessage], attachments: list[Attachment],
                  now: datetime, explanation: str | None = None) -> TicketDetailOut:
    by_message: dict[str, list[AttachmentOut]] = {}
    for a in attachments:
        by_message.setdefault(a.message_id, []).append(AttachmentOut(id=a.id, filename=a.filename,
                                                                     content_type=a.content_type, size=a.size))
    return TicketDetailOut(**_ticket_fields(ticket, now, explanation), messages=[
        MessageOut(id=m.id, at=m.at, author=m.author, author_kind=m.author_kind, visibility=m.visibility,
                   body=m.body, channel=m.channel, attachments=by_message.get(m.id, [])) for m in messages])
