"""Complaint routes (R-T9, R-S5)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.tickets.api.deps import Tickets, scoped
from services.tickets.errors import (
    ComplaintAlreadyAnswered, ComplaintAlreadyExtended, ComplaintNotFound, ComplaintWindowClosed,
    EntitlementsUnavailable, ExtensionNotLater, ExtensionTooLate, ExtensionTooLong, InstantInFuture,
    RemoteSessionNotFound, TicketNotFound,
)
from services.tickets.models import Complaint
from services.tickets.schemas.care import AnswerIn, ComplaintIn, ComplaintOut, ComplaintStatus, ExtendIn
from services.tickets.service.complaints import ComplaintService
from services.tickets.service.windows import effective_due_on, is_overdue
from shared.errors import Forbidden, IdempotencyKeyReused, Unprocessable, error_responses
from shared.web.idempotency import IdempotencyOptional
from shared.roles import TICKETS_MANAGE, TICKETS_READ, TICKETS_WRITE

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])


async def complaint_service(request: Request, tickets: Tickets) -> ComplaintService:
    return ComplaintService(tickets, request.app.state.entitlements)


Complaints = Annotated[ComplaintService, Depends(complaint_service)]


def complaint_out(complaint: Complaint, on: date) -> ComplaintOut:
    answered = complaint.status == "answered"
    return ComplaintOut(
        id=complaint.id, customer_id=complaint.customer_id, subject=complaint.subject,
        description=complaint.description, ticket_id=complaint.ticket_id,
        remote_session_id=complaint.remote_session_id, filed_by=complaint.filed_by,
        received_at=complaint.received_at, status=complaint.status, due_on=complaint.due_on,  # type: ignore[arg-type]
        extended_to=complaint.extended_to, extension_reason=complaint.extension_reason,
        answer_due_on=effective_due_on(complaint.due_on, complaint.extended_to),
        overdue=is_overdue(complaint.due_on, complaint.extended_to, answered, on), answer=complaint.answer,
        answered_at=complaint.answered_at, answered_to=complaint.answered_to)


@router.post("", operation_id="createComplaint",
             status_code=201, response_model=ComplaintOut, summary="File a complaint (R-T9)",
             description="Filed electronically by the customer itself or by the CRM for it; due 30 days after "
                         "receipt. A complaint about a remote-help session after the session's deadline (the end "
                         "of the business day it took place on) is 422 `complaint_window_closed` (R-S5). "
                         "`received_at` (default: now) is for the CRM forwarding an earlier e-mail. Honours an "
                         "optional `Idempotency-Key`.",
             responses=error_responses(Forbidden, TicketNotFound, RemoteSessionNotFound, ComplaintWindowClosed,
                                       InstantInFuture, Unprocessable, IdempotencyKeyReused))
async def file_complaint(body: ComplaintIn, complaints: Complaints, idem: IdempotencyOptional,
                         principal: scoped(TICKETS_WRITE)):
    complaint = await complaints.file(body, principal)
    return await idem.respond(201, complaint_out(complaint, complaints.today()))


@router.post("/{complaint_id}/extend", operation_id="extendComplaint", response_model=ComplaintOut,
             summary="Name an expected answer date in a complex case (agents, once)",
             description="Once only (409 `complaint_already_extended`), within the 30 days (409 "
                         "`extension_too_late`), to a date after the due date and at most 60 days from receipt "
                         "(422 `extension_too_long`). Emits `complaint.extended` with the customer's current e-mail "
                         "so the customer is told. Honours an optional `Idempotency-Key`.",
             responses=error_responses(Forbidden, ComplaintNotFound, ComplaintAlreadyExtended, ComplaintAlreadyAnswered,
                                       ExtensionTooLate, ExtensionTooLong, ExtensionNotLater, EntitlementsUnavailable,
                                       IdempotencyKeyReused))
async def extend_complaint(complaint_id: str, body: ExtendIn, complaints: Complaints, idem: IdempotencyOptional,
                           principal: scoped(TICKETS_MANAGE)):
    complaint = await complaints.extend(complaint_id, principal, body.reason, body.expected_on)
    return await idem.respond(200, complaint_out(complaint, complaints.today()))


@router.post("/{complaint_id}/answer", operation_id="answerComplaint",
             response_model=ComplaintOut, summary="Answer a complaint (agents)",
             description="Emits `complaint.answered` with the answer and the customer's current e-mail (R-T9), "
                         "looked up in entitlements now. Honours an optional `Idempotency-Key`.",
             responses=error_responses(Forbidden, ComplaintNotFound, ComplaintAlreadyAnswered, EntitlementsUnavailable,
                                       IdempotencyKeyReused))
async def answer_complaint(complaint_id: str, body: AnswerIn, complaints: Complaints, idem: IdempotencyOptional,
                           principal: scoped(TICKETS_MANAGE)):
    complaint = await complaints.answer(complaint_id, principal, body.answer)
    return await idem.respond(200, complaint_out(complaint, complaints.today()))


@router.get("/{complaint_id}", operation_id="getComplaint", response_model=ComplaintOut, summary="A complaint",
            description="Customers see only their own.", responses=error_responses(Forbidden, ComplaintNotFound))
async def get_complaint(complaint_id: str, complaints: Complaints, principal: scoped(TICKETS_READ)) -> ComplaintOut:
    return complaint_out(await complaints.get(complaint_id, principal), complaints.today())


@router.get("", operation_id="listComplaints",
            response_model=list[ComplaintOut], summary="List complaints; `overdue=true` lists the late ones",
            description="Overdue: not answered and past the due date, or past the extended date when extended, as "
                        "of `as_of` (a Warsaw date; default today). Customers see only their own. Oldest first.",
            responses=error_responses(Forbidden))
async def list_complaints(complaints: Complaints, principal: scoped(TICKETS_READ),
                          customer_id: str | None = Query(default=None, max_length=100),
                          status: ComplaintStatus | None = None, overdue: bool = False, as_of: date | None = None,
                          limit: int = Query(default=200, ge=1, le=500)) -> list[ComplaintOut]:
    on = as_of or complaints.today()
    items = await complaints.listing(principal, customer_id=customer_id, status=status,
                                     overdue_on=on if overdue else None, limit=limit)
    return [complaint_out(c, on) for c in items]
