"""Callbacks (R-S2): on request the vendor calls back three times, twice to the number the call
came from and once to the number given in the order. Every failed attempt is recorded and the
customer is told by e-mail at the order's address (`callback.attempt_failed` carries it for the
mail channel).

`scheduled` → `completed` (reached) | `exhausted` (three attempts, none reached). Attempts are
made in plan order: an agent records the outcome of the next planned attempt; a fourth attempt is
refused, and so is any attempt after the customer was reached.
"""

from __future__ import annotations

from typing import Any

from services.tickets.repository import care as repo
from services.tickets.clients import EntitlementsClient
from services.tickets.errors import (
    CallbackAttemptsExhausted, CallbackCompleted, CallbackNotFound, CallbackNotInPlan, NoEntitlement,
)
from services.tickets.models import CallbackAttempt, CallbackRequest
from services.tickets.schemas.care import CallbackIn
from services.tickets.service import policy as policies
from services.tickets.service.tickets import TicketService
from services.tickets.statuses import CallbackStatus
from shared.auth import Principal
from shared.errors import Unprocessable
from shared.ids import new_id
from shared.queries import KeysetPage, found
from shared.uow import UnitOfWork

ATTEMPTS = ("calling_number", "calling_number", "order_number")  # R-S2, in this order
BENEFIT = "callback"  # priority dialing includes callback; every plan with it lists `callback` too


def attempt_plan(calling_number: str, order_number: str) -> list[dict[str, Any]]:
    numbers = {"calling_number": calling_number, "order_number": order_number}
    return [{"attempt": n, "number": numbers[target], "target": target} for n, target in enumerate(ATTEMPTS, 1)]


class CallbackService:
    def __init__(self, tickets: TicketService, entitlements: EntitlementsClient) -> None:
        self.tickets, self.entitlements = tickets, entitlements
        self.uow: UnitOfWork = tickets.uow
        self.session = tickets.session

    async def get(self, callback_id: str, principal: Principal, *, for_update: bool = False) -> CallbackRequest:
        return found(await repo.get_callback(self.session, callback_id, for_update=for_update),
                     CallbackNotFound(f"callback {callback_id!r} does not exist"), seen_by=principal)

    async def attempts(self, callback: CallbackRequest) -> list[CallbackAttempt]:
        return list(await repo.callback_attempts(self.session, [callback.id]))

    async def listing(self, principal: Principal, *, customer_id: str | None, status: str | None, after: str | None,
                      limit: int) -> KeysetPage[tuple[CallbackRequest, list[CallbackAttempt]]]:
        """A keyset page of callbacks in creation order, each with its attempts (two queries);
        a customer lists only its own."""
        page = await repo.callbacks(self.session, customer_id=principal.customer_filter(customer_id), status=status,
                                    after=after, limit=limit)
        by_callback: dict[str, list[CallbackAttempt]] = {}
        for attempt in await repo.callback_attempts(self.session, [c.id for c in page.rows]):
            by_callback.setdefault(attempt.callback_id, []).append(attempt)
        return KeysetPage([(c, by_callback.get(c.id, [])) for c in page.rows], page.next_after)

    async def request(self, data: CallbackIn, principal: Principal) -> CallbackRequest:
        """Schedule the three attempts for a customer whose plan includes `callback`."""
        principal.ensure_may_see(data.customer_id, "customer")
        ticket = None
        if data.ticket_id is not None:
            ticket = await self.tickets.visible(data.ticket_id, principal, for_update=True)
            if ticket.customer_id != data.customer_id or ticket.product_id != data.product:
                raise Unprocessable(f"ticket {ticket.id} is not about {data.product} of {data.customer_id}")
        found = await self.entitlements.entitlements(data.customer_id, data.product)
        if not found:
            raise NoEntitlement("the customer has no licence with support for this product")
        with_callback = [e for e in found if BENEFIT in e["benefits"]]
        if not with_callback:
            plans = ", ".join(sorted({e["plan"]["id"] for e in found}))
            raise CallbackNotInPlan(f"callbacks are not part of {plans} (R-S2)")
        entitlement = policies.choose_entitlement(with_callback, None)
        now = self.uow.clock.now()
        callback = CallbackRequest(
            id=new_id("cbk"), customer_id=data.customer_id, product_id=data.product, ticket_id=data.ticket_id,
            plan_id=entitlement["plan"]["id"], contract_id=entitlement.get("contract_id"),
            calling_number=data.calling_number, order_number=data.order_number,
            contact_email=str(data.contact_email), attempt_plan=attempt_plan(data.calling_number, data.order_number),
            status=CallbackStatus.SCHEDULED, requested_by=principal.sub, requested_at=now, updated_at=now)
        self.session.add(callback)
        await self.session.flush()
        if ticket is not None:
            await self.tickets.record(ticket, "callback_requested", principal.sub, {"callback_id": callback.id})
        self.uow.events.emit("callback.requested", self.event_data(callback), subject=callback.id)
        return callback

    async def record_attempt(self, callback_id: str, principal: Principal, outcome: str, note: str | None
                             ) -> tuple[CallbackRequest, CallbackAttempt]:
        """The outcome of the next planned attempt (its number comes from the plan)."""
        callback = await self.get(callback_id, principal, for_update=True)
        if callback.status == CallbackStatus.COMPLETED:
            raise CallbackCompleted(f"callback {callback.id}: the customer was reached; no further attempts")
        made = await repo.callback_attempts(self.session, [callback.id])
        if len(made) >= len(callback.attempt_plan):
            raise CallbackAttemptsExhausted(f"callback {callback.id}: all {len(made)} attempts have been made (R-S2)")
        planned = callback.attempt_plan[len(made)]
        now = self.uow.clock.now()
        attempt = CallbackAttempt(callback_id=callback.id, attempt=planned["attempt"], number=planned["number"],
                                  target=planned["target"], outcome=outcome, note=note, at=now, agent=principal.sub)
        self.session.add(attempt)
        left = len(callback.attempt_plan) - len(made) - 1
        if outcome == "reached":
            callback.status, callback.completed_at = "completed", now
        elif left == 0:
            callback.status, callback.completed_at = "exhausted", now
        callback.updated_at = now
        await self.session.flush()
        data = self.event_data(callback, attempt=attempt.attempt, number=attempt.number, target=attempt.target,
                               outcome=outcome, note=note, attempted_at=now.isoformat(), attempts_left=left)
        if outcome == "reached":
            self.uow.events.emit("callback.completed", data, subject=callback.id)
        else:
            # R-S2: recorded, and the customer is told by e-mail at the order's address
            self.uow.events.emit("callback.attempt_failed", data, subject=callback.id)
        return callback, attempt

    @staticmethod
    def event_data(callback: CallbackRequest, **extra: Any) -> dict[str, Any]:
        return {"callback_id": callback.id, "customer_id": callback.customer_id, "product_id": callback.product_id,
                "ticket_id": callback.ticket_id, "plan_id": callback.plan_id, "status": callback.status,
                "calling_number": callback.calling_number, "order_number": callback.order_number,
                "email": callback.contact_email, **extra}
