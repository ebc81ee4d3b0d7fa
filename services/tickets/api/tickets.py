"""Ticket routes: filing, the agent queue, the thread, the life cycle."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.tickets.api.deps import Tickets, scoped, thread_detail, ticket_detail, ticket_out
from services.tickets.errors import (
    AttachmentTooLarge, DescriptionTooShort, EntitlementsUnavailable, InvalidTicketTransition, NoEntitlement,
    ReopenWindowOver, TicketClosed, TicketNotFound, UnknownProduct,
)
from services.tickets.service.filing import prepare_filing
from services.tickets.schemas.tickets import (
    AssignIn, HistoryOut, MessageIn, MessageOut, NoteIn, RequestDetailsIn, TicketDetailOut, TicketIn, TicketOut,
)
from shared.errors import Forbidden, IdempotencyKeyRequired, IdempotencyKeyReused, Unprocessable, error_responses
from shared.web.create_once import Prepared, create_once
from shared.roles import TICKETS_MANAGE, TICKETS_READ, TICKETS_WRITE
from shared.schemas import Page

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

_EXAMPLE = {
    "customer_id": "cust-1001", "product": "office365-support", "subject": "Teams calls drop after 5 minutes",
    "description": "Since Monday every Teams call of the sales team drops after about five minutes; "
                   "the admin centre shows no incident.", "category": "basic_config_help", "channel": "api",
    "contact": {"name": "Anna Nowak", "email": "anna@contoso.pl", "phone": "+48 600 000 000"},
}


@router.post("", operation_id="createTicket", status_code=201, response_model=TicketDetailOut, summary="File a ticket",
             description="Asks entitlements for the customer's plan and keeps a snapshot of it and its SLA policy on "
                         "the ticket; sets the reaction deadline in the plan's support hours; flags categories the "
                         "plan does not cover as out of scope (R-T7). With no paid contract the product's free plan "
                         "applies; with neither, 403 `no_entitlement`. Requires `Idempotency-Key`.",
             responses=error_responses(Forbidden, NoEntitlement, UnknownProduct, DescriptionTooShort,
                                       AttachmentTooLarge, EntitlementsUnavailable, IdempotencyKeyRequired,
                                       IdempotencyKeyReused),
             openapi_extra={"requestBody": {"content": {"application/json": {"example": _EXAMPLE}}}})
async def file_ticket(body: TicketIn, request: Request, principal: scoped(TICKETS_WRITE)) -> Response:
    principal.ensure_may_see(body.customer_id, "customer")
    if principal.customer_id is not None and body.channel not in ("api", "portal"):
        raise Forbidden("customers file tickets through the portal, the API or e-mail")
    state = request.app.state

    async def prepare(now: datetime) -> Prepared:
        filing = await prepare_filing(state.runtime.settings, state.entitlements, body, principal, now)
        detail = thread_detail(filing.ticket, [filing.message], filing.attachments, now)
        return Prepared(201, detail.model_dump_json(), filing.rows(), [filing.event])

    # The ticket, its first message, history, contact, event and the key in one statement.
    return await create_once(request, principal.sub, prepare)


def _cursor_out(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode()


def _cursor_in(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return str(json.loads(base64.urlsafe_b64decode(cursor.encode()))["k"])
    except (ValueError, KeyError, TypeError):
        raise Unprocessable("cursor: not a cursor this API returned") from None


@router.get("", operation_id="listTickets",
            response_model=Page[TicketOut], summary="The queue: priority first, then time to breach",
            description="Priority dialing / VIP and Advanced first (R-S3), then tickets whose reaction clock runs, "
                        "soonest breach first. Customers see only their own tickets. Cursor pagination.",
            responses=error_responses(Forbidden, Unprocessable))
async def queue(tickets: Tickets, principal: scoped(TICKETS_READ),
                status: list[Literal["new", "open", "awaiting_customer", "resolved", "closed"]] = Query(
                    default=["new", "open", "awaiting_customer"]),
                assignee: str | None = Query(default=None, max_length=200),
                product: str | None = Query(default=None, max_length=64),
                customer_id: str | None = Query(default=None, max_length=100),
                sla_state: Literal["running", "warning", "breached", "met", "paused", "none"] | None = None,
                cursor: str | None = Query(default=None, max_length=400),
                limit: int = Query(default=50, ge=1, le=200)) -> Page[TicketOut]:
    page = await tickets.queue(principal, statuses=status, assignee=assignee, product_id=product,
                               customer_id=customer_id, sla_state=sla_state, after=_cursor_in(cursor), limit=limit)
    return Page(items=[ticket_out(t, page.at) for t in page.tickets],
                next_cursor=_cursor_out(page.next_after) if page.next_after else None)


@router.get("/{ticket_id}", operation_id="getTicket",
            response_model=TicketDetailOut, summary="A ticket with its thread",
            description="Customers see public messages only; internal notes are for agents.",
            responses=error_responses(Forbidden, TicketNotFound))
async def get_ticket(ticket_id: str, tickets: Tickets, principal: scoped(TICKETS_READ)) -> TicketDetailOut:
    return await ticket_detail(tickets, await tickets.visible(ticket_id, principal), principal)


@router.get("/{ticket_id}/history", operation_id="getTicketHistory",
            response_model=list[HistoryOut], summary="A ticket's full history (agents)",
            responses=error_responses(Forbidden, TicketNotFound))
async def ticket_history(ticket_id: str, tickets: Tickets, principal: scoped(TICKETS_MANAGE)) -> list[HistoryOut]:
    return [HistoryOut.model_validate(e, from_attributes=True) for e in await tickets.history(ticket_id, principal)]


@router.get("/{ticket_id}/attachments/{attachment_id}", operation_id="getTicketAttachment",
            response_class=Response, summary="Download an attachment",
            responses=error_responses(Forbidden, TicketNotFound))
async def attachment(ticket_id: str, attachment_id: str, tickets: Tickets, principal: scoped(TICKETS_READ)) -> Response:
    found = await tickets.attachment(ticket_id, attachment_id, principal)
    return Response(found.content, media_type=found.content_type,
                    headers={"content-disposition": f'attachment; filename="{found.filename}"'})


@router.post("/{ticket_id}/messages", operation_id="addTicketMessage", status_code=201, response_model=MessageOut,
             summary="Reply (public) or add an internal note",
             description="The first public agent reply meets the reaction target (R-T4). A customer's reply to a "
                         "ticket waiting for it resumes the SLA clock (R-T2). Internal notes are never shown to "
                         "customers.",
             responses=error_responses(Forbidden, TicketNotFound, TicketClosed, AttachmentTooLarge))
async def add_message(ticket_id: str, body: MessageIn, tickets: Tickets, principal: scoped(TICKETS_WRITE)) -> MessageOut:
    if body.visibility == "internal" and not principal.has(TICKETS_MANAGE):
        raise Forbidden("internal notes are for agents")
    message = await tickets.reply(ticket_id, principal, body.body, body.visibility, body.attachments)
    return MessageOut(id=message.id, at=message.at, author=message.author, author_kind=message.author_kind,
                      visibility=message.visibility, body=message.body, channel=message.channel)


_LIFECYCLE = error_responses(Forbidden, TicketNotFound, InvalidTicketTransition, TicketClosed)


@router.post("/{ticket_id}/request-details", operation_id="requestTicketDetails", response_model=TicketOut,
             summary="Ask the customer for details; the SLA clock pauses (R-T2)", responses=_LIFECYCLE)
async def request_details(ticket_id: str, body: RequestDetailsIn, tickets: Tickets,
                          principal: scoped(TICKETS_MANAGE)) -> TicketOut:
    return ticket_out(await tickets.request_details(ticket_id, principal, body.body), tickets.now())


@router.post("/{ticket_id}/resolve", operation_id="resolveTicket",
             response_model=TicketOut, summary="Resolve a ticket", responses=_LIFECYCLE)
async def resolve(ticket_id: str, tickets: Tickets, principal: scoped(TICKETS_MANAGE),
                  body: NoteIn | None = None) -> TicketOut:
    return ticket_out(await tickets.resolve(ticket_id, principal, body.note if body else None), tickets.now())


@router.post("/{ticket_id}/reopen", operation_id="reopenTicket",
             response_model=TicketOut, summary="Reopen within 14 days of resolution",
             responses=error_responses(Forbidden, TicketNotFound, InvalidTicketTransition, TicketClosed,
                                       ReopenWindowOver))
async def reopen(ticket_id: str, tickets: Tickets, principal: scoped(TICKETS_WRITE)) -> TicketOut:
    return ticket_out(await tickets.reopen(ticket_id, principal), tickets.now())


@router.post("/{ticket_id}/close", operation_id="closeTicket",
             response_model=TicketOut, summary="Close a resolved ticket", responses=_LIFECYCLE)
async def close(ticket_id: str, tickets: Tickets, principal: scoped(TICKETS_MANAGE)) -> TicketOut:
    return ticket_out(await tickets.close(ticket_id, principal), tickets.now())


@router.post("/{ticket_id}/assign", operation_id="assignTicket",
             response_model=TicketOut, summary="Assign to an agent (or unassign)",
             responses=error_responses(Forbidden, TicketNotFound, TicketClosed))
async def assign(ticket_id: str, body: AssignIn, tickets: Tickets, principal: scoped(TICKETS_MANAGE)) -> TicketOut:
    return ticket_out(await tickets.assign(ticket_id, principal, body.assignee), tickets.now())
