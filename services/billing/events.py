"""Events billing applies (from entitlements), each at most once through the inbox."""

from __future__ import annotations

from services.billing.service.accounts import AccountService
from services.billing.settings import BillingSettings
from shared.inbox import EventEnvelope, Inbox
from shared.uow import UnitOfWork


def build_inbox(settings: BillingSettings) -> Inbox:
    inbox = Inbox()

    def accounts(uow: UnitOfWork) -> AccountService:
        return AccountService(uow, settings)

    @inbox.handles("contract.created")
    async def _created(uow: UnitOfWork, event: EventEnvelope) -> None:
        """The account and the first invoice, charged at once (R-B11, R-B1)."""
        await accounts(uow).open(event.data, event.id)

    @inbox.handles("contract.upgrade_requested")
    async def _upgrade(uow: UnitOfWork, event: EventEnvelope) -> None:
        """The prorated supplement (R-B7)."""
        await accounts(uow).upgrade_requested(event.data, event.id)

    @inbox.handles("contract.upgraded")
    async def _upgraded(uow: UnitOfWork, event: EventEnvelope) -> None:
        """The new plan's price from the upgrade's date; billed periods repriced (R-B7)."""
        await accounts(uow).upgraded(event.data, event.id)

    for kind in ("activated", "suspended", "resumed", "terminated", "expired", "transferred"):
        @inbox.handles(f"contract.{kind}")
        async def _changed(uow: UnitOfWork, event: EventEnvelope) -> None:
            await accounts(uow).contract_changed(event.data)

    @inbox.handles("usage.overage")
    async def _overage(uow: UnitOfWork, event: EventEnvelope) -> None:
        """Remote-help minutes beyond the quota, for the next invoice (R-B8)."""
        await accounts(uow).add_usage(event.data)

    return inbox
