"""Remote-help sessions (R-S4, R-S5, R-T4).

An agent records a session on a ticket whose plan includes `remote_help`. The session's quota is
consumed in entitlements over HTTP — `remote_help_sessions` 1 and `remote_help_minutes` = the
minutes — and entitlements splits each into included and overage (and emits `usage.overage` for
billing, R-B8); the split is kept on the session. Starting the session is the ticket's first
agent reaction when none came before (R-T4), at the session's start.

Exactly once: the session id is derived from the ticket and the session's start, and the usage
event ids from the session id (`<id>:sessions`, `<id>:minutes`), each also sent as the
`Idempotency-Key`. Entitlements is called before anything is written here; when it is unreachable
the request fails with 503 and the unit of work rolls back, so no session is recorded. A retry of
the same session — the same `Idempotency-Key` replays the stored answer; without one, or after a
failure half-way (sessions counted, minutes not) — reports the same event ids again, which
entitlements counts once. A second report of a recorded session is 409 `remote_session_exists`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from services.tickets.repository import care as repo
from services.tickets.clients import EntitlementsClient
from services.tickets.errors import (
    InstantInFuture, RemoteHelpNotInPlan, RemoteSessionExists, RemoteSessionNotFound, TicketClosed, UsageRefused,
)
from services.tickets.models import RemoteSession, Ticket
from services.tickets.schemas.care import RemoteSessionIn
from services.tickets.service.sla import hours_calendar
from services.tickets.service.tickets import TicketService
from services.tickets.service.windows import session_complaint_deadline
from shared.auth import Principal
from shared.queries import found
from shared.uow import UnitOfWork

BENEFIT = "remote_help"
SESSIONS, MINUTES = "remote_help_sessions", "remote_help_minutes"


def session_id(ticket_id: str, started_at: datetime) -> str:
    """Stable per (ticket, start): a retried report of one session gets the same id."""
    digest = hashlib.sha256(f"{ticket_id}|{int(started_at.timestamp())}".encode()).hexdigest()
    return f"rhs_{digest[:32]}"


class RemoteSessionService:
    def __init__(self, tickets: TicketService, entitlements: EntitlementsClient) -> None:
        self.tickets, self.entitlements = tickets, entitlements
        self.uow: UnitOfWork = tickets.uow
        self.session = tickets.session

    async def get(self, remote_session_id: str, principal: Principal) -> RemoteSession:
        return found(await repo.get_remote_session(self.session, remote_session_id),
                     RemoteSessionNotFound(f"remote-help session {remote_session_id!r} does not exist"),
                     seen_by=principal)

    async def of_ticket(self, ticket_id: str, principal: Principal) -> list[RemoteSession]:
        await self.tickets.visible(ticket_id, principal)
        return list(await repo.remote_sessions_of(self.session, ticket_id))

    async def record(self, ticket_id: str, data: RemoteSessionIn, principal: Principal) -> RemoteSession:
        ticket = await self.tickets.visible(ticket_id, principal, for_update=True)
        if ticket.status == "closed":
            raise TicketClosed(f"ticket {ticket.id} is closed; open a new one")
        policy = ticket.policy
        contract_id = policy.get("contract_id")
        if BENEFIT not in policy["benefits"] or contract_id is None:
            raise RemoteHelpNotInPlan(f"the {policy['plan_name']} plan of ticket {ticket.id} does not include "
                                      "remote help (R-S4)")
        now = self.uow.clock.now()
        started_at = data.started_at.astimezone(now.tzinfo)
        if started_at > now:
            raise InstantInFuture(f"started_at {data.started_at.isoformat()} is in the future; record a session "
                                  "once it has started")
        sid = session_id(ticket.id, started_at)
        if await repo.get_remote_session(self.session, sid) is not None:
            raise RemoteSessionExists(f"session {sid} starting {started_at.isoformat()} is already recorded on "
                                      f"ticket {ticket.id}")
        # Quota first, over HTTP: a failure raises and nothing below is written (the UoW rolls back).
        sessions = await self._consume(contract_id, sid, SESSIONS, 1, started_at, ticket.id)
        minutes = await self._consume(contract_id, sid, MINUTES, data.minutes, started_at, ticket.id)
        remote = RemoteSession(
            id=sid, ticket_id=ticket.id, customer_id=ticket.customer_id, contract_id=contract_id,
            plan_id=policy["plan_id"], program=data.program, started_at=started_at,
            ended_at=started_at + timedelta(minutes=data.minutes), minutes=data.minutes, agent=principal.sub,
            period_key=str(minutes["period_key"]), sessions_included=int(sessions["included"]),
            sessions_overage=int(sessions["overage"]), minutes_included=int(minutes["included"]),
            minutes_overage=int(minutes["overage"]), usage_ids={SESSIONS: sessions["id"], MINUTES: minutes["id"]},
            complaint_deadline=session_complaint_deadline(hours_calendar(policy), started_at, data.minutes),
            recorded_at=now)
        self.session.add(remote)
        await self.session.flush()
        await self._reaction(ticket, principal.sub, started_at)
        await self.tickets.record(ticket, "remote_session", principal.sub, {
            "remote_session_id": remote.id, "started_at": started_at.isoformat(), "minutes": data.minutes,
            "program": data.program, "minutes_overage": remote.minutes_overage,
            "sessions_overage": remote.sessions_overage,
            "complaint_deadline": remote.complaint_deadline.isoformat()})
        self.uow.events.emit("remote_session.recorded", self.event_data(remote, ticket), subject=remote.id)
        return remote

    async def _consume(self, contract_id: str, sid: str, metric: str, quantity: int, at: datetime,
                       ticket_id: str) -> dict[str, Any]:
        try:
            return await self.entitlements.record_usage(contract_id, event_id=f"{sid}:{metric.rsplit('_', 1)[-1]}",
                                                        metric=metric, quantity=quantity, occurred_at=at,
                                                        reference=f"ticket {ticket_id}, session {sid}")
        except UsageRefused as refused:
            if refused.upstream == "metric_not_in_plan":
                raise RemoteHelpNotInPlan(f"the contract's plan has no {metric} quota: {refused.detail}") from None
            if refused.upstream in ("usage_event_reused", "idempotency_key_reused"):
                raise RemoteSessionExists(f"session {sid} was already reported to entitlements with other "
                                          f"values: {refused.detail}") from None
            raise

    async def _reaction(self, ticket: Ticket, actor: str, started_at: datetime) -> None:
        """R-T4: "the start of a remote session meets the reaction target". The ticket service's
        own rule for the first agent reaction is applied as of the session's start (not before
        the ticket's acceptance): a session reported after it ended still counts when it began."""
        await self.tickets.agent_reacted(ticket, actor, max(started_at, ticket.accepted_at))

    @staticmethod
    def event_data(remote: RemoteSession, ticket: Ticket) -> dict[str, Any]:
        return {"remote_session_id": remote.id, "ticket_id": remote.ticket_id, "customer_id": remote.customer_id,
                "contract_id": remote.contract_id, "plan_id": remote.plan_id, "program": remote.program,
                "started_at": remote.started_at.isoformat(), "minutes": remote.minutes,
                "period_key": remote.period_key, "sessions_included": remote.sessions_included,
                "sessions_overage": remote.sessions_overage, "minutes_included": remote.minutes_included,
                "minutes_overage": remote.minutes_overage,
                "complaint_deadline": remote.complaint_deadline.isoformat(),
                "email": ticket.contact.get("email")}
