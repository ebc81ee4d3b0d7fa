"""Events this service applies (from billing), each at most once through the inbox."""

from __future__ import annotations

from datetime import date

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

    @inbox.handles("contract.paid")
    async def _paid(uow: UnitOfWork, event: EventEnvelope) -> None:
        """The first invoice is paid: the contract becomes active (R-B1)."""
        service = contracts(uow)
        contract = await service.get(event.data["contract_id"])
        if contract.status == PENDING:
            await service.activate(contract.id, actor(event), "payment received")

    @inbox.handles("contract.payment_overdue")
    async def _overdue(uow: UnitOfWork, event: EventEnvelope) -> None:
        """R-E4/R-B5: late, short or failed payment suspends support."""
        service = contracts(uow)
        contract = await service.get(event.data["contract_id"])
        if contract.status == ACTIVE:
            await service.suspend(contract.id, actor(event), event.data.get("reason", "payment overdue"))

    @inbox.handles("contract.payment_settled")
    async def _settled(uow: UnitOfWork, event: EventEnvelope) -> None:
        """R-E4: paying the arrears lifts the suspension."""
        service = contracts(uow)
        contract = await service.get(event.data["contract_id"])
        if contract.status == SUSPENDED:
            await service.resume(contract.id, actor(event), "arrears paid")
        elif contract.status == PENDING:
            await service.activate(contract.id, actor(event), "payment received")

    @inbox.handles("contract.terminable")
    async def _terminable(uow: UnitOfWork, event: EventEnvelope) -> None:
        """R-E5/R-B6: more than 7 days late; the seller may terminate."""
        since = date.fromisoformat(event.data.get("since") or event.occurred_at.date().isoformat())
        await contracts(uow).mark_terminable(event.data["contract_id"], since, actor(event))

    @inbox.handles("contract.upgrade_paid")
    async def _upgrade_paid(uow: UnitOfWork, event: EventEnvelope) -> None:
        """R-B7: the supplement is paid; switch the plan."""
        service = contracts(uow)
        contract = await service.get(event.data["contract_id"])
        if contract.pending_upgrade is not None:
            await UpgradeService(service).apply(contract.id, event.data.get("plan_id"), actor(event))

    return inbox
