"""Remote-help session routes (R-S4, R-S5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.tickets.api.deps import Tickets, scoped
from services.tickets.errors import (
    EntitlementsUnavailable, InstantInFuture, RemoteHelpNotInPlan, RemoteSessionExists, RemoteSessionNotFound,
    TicketClosed, TicketNotFound, UsageRefused,
)
from services.tickets.models import RemoteSession
from services.tickets.schemas.care import MetricUsageOut, RemoteSessionIn, RemoteSessionOut
from services.tickets.service.remote_sessions import RemoteSessionService
from shared.errors import Forbidden, IdempotencyKeyReused, error_responses
from shared.web.idempotency import IdempotencyOptional
from shared.roles import TICKETS_MANAGE, TICKETS_READ

router = APIRouter(prefix="/v1", tags=["remote help"])


async def remote_session_service(request: Request, tickets: Tickets) -> RemoteSessionService:
    return RemoteSessionService(tickets, request.app.state.entitlements)


RemoteSessions = Annotated[RemoteSessionService, Depends(remote_session_service)]


def remote_session_out(remote: RemoteSession) -> RemoteSessionOut:
    return RemoteSessionOut(
        id=remote.id, ticket_id=remote.ticket_id, customer_id=remote.customer_id, contract_id=remote.contract_id,
        plan_id=remote.plan_id, program=remote.program, started_at=remote.started_at, ended_at=remote.ended_at,
        minutes=remote.minutes, agent=remote.agent, period_key=remote.period_key,
        sessions=MetricUsageOut(quantity=1, included=remote.sessions_included, overage=remote.sessions_overage),
        minutes_usage=MetricUsageOut(quantity=remote.minutes, included=remote.minutes_included,
                                     overage=remote.minutes_overage),
        complaint_deadline=remote.complaint_deadline, recorded_at=remote.recorded_at)


@router.post("/tickets/{ticket_id}/remote-sessions", operation_id="recordRemoteSession",
             status_code=201, response_model=RemoteSessionOut,
             summary="Record a remote-help session on a ticket (agents, R-S4)",
             description="The ticket's plan must include `remote_help` (VIP, VIP+; else 409 "
                         "`remote_help_not_in_plan`). Consumes `remote_help_sessions` (1) and `remote_help_minutes` "
                         "in entitlements, which splits them into included and overage (overage is billed, R-B8); "
                         "the split is stored. The session's start is the ticket's first reaction if none came "
                         "before (R-T4). Sets the deadline for complaints about it: the end of the business day "
                         "it took place on (R-S5). Entitlements unreachable: 503 `entitlements_unavailable` and "
                         "nothing is recorded; a retry (the same `Idempotency-Key`, or the same ticket and "
                         "`started_at`) is never counted twice.",
             responses=error_responses(Forbidden, TicketNotFound, TicketClosed, RemoteHelpNotInPlan,
                                       RemoteSessionExists, UsageRefused, InstantInFuture, EntitlementsUnavailable,
                                       IdempotencyKeyReused))
async def record_remote_session(ticket_id: str, body: RemoteSessionIn, sessions: RemoteSessions,
                                idem: IdempotencyOptional, principal: scoped(TICKETS_MANAGE)):
    remote = await sessions.record(ticket_id, body, principal)
    return await idem.respond(201, remote_session_out(remote))


@router.get("/tickets/{ticket_id}/remote-sessions", operation_id="listTicketRemoteSessions",
            response_model=list[RemoteSessionOut],
            summary="A ticket's remote-help sessions", description="Customers see only their own tickets' sessions.",
            responses=error_responses(Forbidden, TicketNotFound))
async def ticket_remote_sessions(ticket_id: str, sessions: RemoteSessions,
                                 principal: scoped(TICKETS_READ)) -> list[RemoteSessionOut]:
    return [remote_session_out(r) for r in await sessions.of_ticket(ticket_id, principal)]


@router.get("/remote-sessions/{remote_session_id}", operation_id="getRemoteSession", response_model=RemoteSessionOut,
            summary="A remote-help session", description="Customers see only their own.",
            responses=error_responses(Forbidden, RemoteSessionNotFound))
async def get_remote_session(remote_session_id: str, sessions: RemoteSessions,
                             principal: scoped(TICKETS_READ)) -> RemoteSessionOut:
    return remote_session_out(await sessions.get(remote_session_id, principal))
