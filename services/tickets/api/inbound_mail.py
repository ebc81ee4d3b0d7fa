"""Inbound mail for operators: what the SMTP listener accepted and could not turn into a ticket
or a message (unparseable, failed, customer without support), kept raw, never dropped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.tickets.api.deps import Tickets, scoped
from services.tickets.errors import InboundMailNotFound, InboundMailNotPending
from services.tickets.models import InboundMail
from services.tickets.schemas.mail import InboundMailOut, InboundStatus
from services.tickets.service.mail_in import InboundMailService
from shared.errors import Forbidden, error_responses
from shared.openapi import binary_response
from shared.roles import TICKETS_SUPERVISE
from shared.schemas import Page

router = APIRouter(prefix="/v1/inbound-mail", tags=["e-mail channel"])


async def inbound_service(tickets: Tickets) -> InboundMailService:
    return InboundMailService(tickets)


Inbound = Annotated[InboundMailService, Depends(inbound_service)]


def inbound_out(row: InboundMail) -> InboundMailOut:
    return InboundMailOut.model_validate(row, from_attributes=True)


@router.get("", operation_id="listInboundMail",
            response_model=Page[InboundMailOut], summary="Inbound mail, newest first (operators)",
            description="`status=unprocessed`: what needs an operator — unparseable mail, mail whose processing "
                        "failed, mail from a customer without support. `ignored`: auto-replies and bounces, kept "
                        "but never answered. Raw contents via `GET /v1/inbound-mail/{id}/raw`.",
            responses=error_responses(Forbidden))
async def list_inbound(inbound: Inbound, _: scoped(TICKETS_SUPERVISE), status: InboundStatus | None = None,
                       cursor: str | None = Query(default=None, max_length=40),
                       limit: int = Query(default=50, ge=1, le=200)) -> Page[InboundMailOut]:
    page = await inbound.listing(status=status, after=cursor, limit=limit)
    return Page(items=[inbound_out(r) for r in page.rows], next_cursor=page.next_after)


@router.get("/{mail_id}/raw", operation_id="getRawInboundMail",
            response_class=Response, summary="The message exactly as received (RFC 5322)",
            responses={**error_responses(Forbidden, InboundMailNotFound),
                       200: binary_response("message/rfc822", "The raw message.")})
async def raw_inbound(mail_id: str, inbound: Inbound, _: scoped(TICKETS_SUPERVISE)) -> Response:
    row = await inbound.get(mail_id)
    return Response(row.raw, media_type="message/rfc822",
                    headers={"content-disposition": f'attachment; filename="{row.id}.eml"'})


@router.post("/{mail_id}/dismiss", operation_id="dismissInboundMail",
             response_model=InboundMailOut, summary="Mark an unprocessed mail as dealt with",
             description="It stays stored; only its status changes to `dismissed`.",
             responses=error_responses(Forbidden, InboundMailNotFound, InboundMailNotPending))
async def dismiss_inbound(mail_id: str, inbound: Inbound, principal: scoped(TICKETS_SUPERVISE)) -> InboundMailOut:
    return inbound_out(await inbound.dismiss(mail_id, principal))
