"""Events this service applies (from billing), each at most once through the inbox."""

from __future__ import annotations

from datetime import date, timedelta

from services.entitlements.service.contracts import ContractService
from services.entitlements.service.terms import ACTIVE, PENDING, SUSPENDED
from services.entitlements.service.upgrades import UpgradeService
from services.entitlements.settings import EntitlementsSettings
from shared.inbox import EventEnvelope, Inbox
from shared.uow import UnitOfWork


def build_inbox(settings: EntitlementsSettings) -> Inbox:
    inbox = Inbox()

    def contracts(uow: UnitOfWork) -> ContractService:
        return ContractService(uow, settings)

    def actor(event: EventEnvelope) -> str:
        return f"event:{event.source}:{event.id}"

    def move(event_type: str, moves: dict[str, tuple[str, str]]) -> None:
        """Register a handler that applies the transition listed for the contract's current
        status; in any other status the event has nothing left to do (already applied)."""

        @inbox.handles(event_type)
        async def _handler(uow: UnitOfWork, event: EventEnvelope) -> None:
            service = contracts(uow)
            contract = await service.get(event.data["contract_id"])
            if contract.status in moves:
                action, reason = moves[contract.status]
                await service.transition_by_id(contract.id, action, actor(event), event.data.get("reason", reason))

    move("contract.paid", {PENDING: ("activate", "payment received")})  # R-B1
    move("contract.payment_overdue", {ACTIVE: ("suspend", "payment overdue")})  # R-E4, R-B5
    move("contract.payment_settled", {SUSPENDED: ("resume", "arrears paid"),  # R-E4
                                      PENDING: ("activate", "payment received")})

    @inbox.handles("contract.terminable")
    async def _terminable(uow: UnitOfWork, event: EventEnvelope) -> None:
        """R-E5/R-B6: more than 7 days late; the seller may terminate. `terminable_since` is the
        first day the payment was more than 7 days late, as billing counts it."""
        data = event.data
        if data.get("terminable_since"):
            since = date.fromisoformat(data["terminable_since"])
        else:  # an event from a billing that did not send it yet: the overdue date + 8 days (R-B6)
            since = date.fromisoformat(data["since"]) + timedelta(days=8)
        await contracts(uow).mark_terminable(data["contract_id"], since, actor(event))

    @inbox.handles("contract.upgrade_paid")
    async def _upgrade_paid(uow: UnitOfWork, event: EventEnvelope) -> None:
        """R-B7: the supplement is paid; switch the plan."""
        service = contracts(uow)
        contract = await service.get(event.data["contract_id"])
        if contract.pending_upgrade is not None:
            await UpgradeService(service).apply(contract.id, event.data.get("plan_id"), actor(event))

    return inbox
