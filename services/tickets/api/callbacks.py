"""Callback routes (R-S2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.tickets.api.deps import Tickets, scoped
from services.tickets.errors import (
    CallbackAttemptsExhausted, CallbackCompleted, CallbackNotFound, CallbackNotInPlan, EntitlementsUnavailable,
    NoEntitlement, TicketNotFound, UnknownProduct,
)
from services.tickets.models import CallbackAttempt, CallbackRequest
from services.tickets.schemas.care import AttemptIn, CallbackIn, CallbackOut, CallbackStatus, PlannedAttemptOut
from services.tickets.service.callbacks import CallbackService
from shared.errors import Forbidden, IdempotencyKeyReused, Unprocessable, error_responses
from shared.web.idempotency import IdempotencyOptional
from shared.roles import TICKETS_MANAGE, TICKETS_READ, TICKETS_WRITE
from shared.schemas import Page

router = APIRouter(prefix="/v1/callbacks", tags=["callbacks"])


async def callback_service(request: Request, tickets: Tickets) -> CallbackService:
    return CallbackService(tickets, request.app.state.entitlements)


Callbacks = Annotated[CallbackService, Depends(callback_service)]


def callback_out(callback: CallbackRequest, attempts: list[CallbackAttempt]) -> CallbackOut:
    made = {a.attempt: a for a in attempts}
    planned = []
    for step in callback.attempt_plan:
        done = made.get(step["attempt"])
        planned.append(PlannedAttemptOut(
            attempt=step["attempt"], number=step["number"], target=step["target"],
            outcome=done.outcome if done else None, at=done.at if done else None,  # type: ignore[arg-type]
            agent=done.agent if done else None, note=done.note if done else None))
    open_ = callback.status == "scheduled"
    upcoming = [p for p in planned if p.outcome is None] if open_ else []
    return CallbackOut(
        id=callback.id, customer_id=callback.customer_id, product_id=callback.product_id,
        ticket_id=callback.ticket_id, plan_id=callback.plan_id, contract_id=callback.contract_id,
        calling_number=callback.calling_number, order_number=callback.order_number,
        contact_email=callback.contact_email, status=callback.status, attempts=planned,  # type: ignore[arg-type]
        next_attempt=upcoming[0] if upcoming else None, attempts_left=len(upcoming), requested_by=callback.requested_by,
        requested_at=callback.requested_at, completed_at=callback.completed_at)


async def _out(callbacks: CallbackService, callback: CallbackRequest) -> CallbackOut:
    return callback_out(callback, await callbacks.attempts(callback))


@router.post("", operation_id="requestCallback",
             status_code=201, response_model=CallbackOut, summary="Request a callback (R-S2)",
             description="For plans with the `callback` benefit (Prestige, VIP, VIP+): schedules three attempts, "
                         "two to `calling_number` and one to `order_number`. Other plans: 403 "
                         "`callback_not_in_plan`. Honours an optional `Idempotency-Key`.",
             responses=error_responses(Forbidden, CallbackNotInPlan, NoEntitlement, TicketNotFound, UnknownProduct,
                                       Unprocessable, EntitlementsUnavailable, IdempotencyKeyReused))
async def request_callback(body: CallbackIn, callbacks: Callbacks, idem: IdempotencyOptional,
                           principal: scoped(TICKETS_WRITE)):
    callback = await callbacks.request(body, principal)
    return await idem.respond(201, await _out(callbacks, callback))


@router.post("/{callback_id}/attempts", operation_id="recordCallbackAttempt",
             status_code=201, response_model=CallbackOut,
             summary="Record the outcome of the next attempt (agents)",
             description="The number called is the next one in the plan. Every outcome other than `reached` emits "
                         "`callback.attempt_failed` with the order's e-mail address, so the customer is told (R-S2). "
                         "A fourth attempt is 409 `callback_attempts_exhausted`; any attempt after `reached` is 409 "
                         "`callback_completed`. Honours an optional `Idempotency-Key`.",
             responses=error_responses(Forbidden, CallbackNotFound, CallbackAttemptsExhausted, CallbackCompleted,
                                       IdempotencyKeyReused))
async def record_attempt(callback_id: str, body: AttemptIn, callbacks: Callbacks, idem: IdempotencyOptional,
                         principal: scoped(TICKETS_MANAGE)):
    callback, _ = await callbacks.record_attempt(callback_id, principal, body.outcome, body.note)
    return await idem.respond(201, await _out(callbacks, callback))


@router.get("/{callback_id}", operation_id="getCallback",
            response_model=CallbackOut, summary="A callback with its attempts",
            description="Customers see only their own.", responses=error_responses(Forbidden, CallbackNotFound))
async def get_callback(callback_id: str, callbacks: Callbacks, principal: scoped(TICKETS_READ)) -> CallbackOut:
    return await _out(callbacks, await callbacks.get(callback_id, principal))


@router.get("", operation_id="listCallbacks", response_model=Page[CallbackOut], summary="List callbacks",
            description="Filter by customer and status; customers see only their own. Cursor pagination in "
                        "creation order.", responses=error_responses(Forbidden))
async def list_callbacks(callbacks: Callbacks, principal: scoped(TICKETS_READ),
                         customer_id: str | None = Query(default=None, max_length=100),
                         status: CallbackStatus | None = None,
                         cursor: str | None = Query(default=None, max_length=40),
                         limit: int = Query(default=50, ge=1, le=200)) -> Page[CallbackOut]:
    page = await callbacks.listing(principal, customer_id=customer_id, status=status, after=cursor, limit=limit)
    return Page(items=[callback_out(c, attempts) for c, attempts in page.rows], next_cursor=page.next_after)
