"""Events this service applies: contract changes make cached entitlements stale, and an upgrade
re-times the contract's open tickets (docs/sla-upgrade.md)."""

from __future__ import annotations

from services.tickets.clients import EntitlementsClient
from services.tickets.service.plan_change import apply_plan_change
from services.tickets.service.tickets import TicketService
from services.tickets.settings import TicketsSettings
from shared.inbox import EventEnvelope, Inbox
from shared.uow import UnitOfWork


def build_inbox(settings: TicketsSettings, entitlements: EntitlementsClient) -> Inbox:
    inbox = Inbox()

    async def _forget(uow: UnitOfWork, event: EventEnvelope) -> None:
        """The customer's plan may have changed (suspended, resumed, upgraded, ended): the next
        ticket asks entitlements afresh instead of using a cached answer."""
        customer_id = event.data.get("customer_id")
        if customer_id:
            entitlements.forget(customer_id)

    for event_type in ("contract.activated", "contract.suspended", "contract.resumed",
                       "contract.terminated", "contract.expired", "contract.transferred"):
        inbox.handles(event_type)(_forget)

    @inbox.handles("contract.upgraded")
    async def _upgraded(uow: UnitOfWork, event: EventEnvelope) -> None:
        """Open tickets keep the time used and get the new target from the upgrade on. Entitlements
        being unreachable fails the delivery, which its outbox retries (nothing is lost)."""
        await _forget(uow, event)
        await apply_plan_change(TicketService(uow, settings, entitlements), customer_id=event.data["customer_id"],
                                contract_id=event.data["contract_id"], at=event.occurred_at)

    async def _payment_notice(uow: UnitOfWork, event: EventEnvelope) -> None:
        """R-B5: billing suspends for an unpaid fee and the customer is notified at the same time;
        the notice goes out through this service's mail channel (billing sends no mail)."""
        uow.events.emit("mail.payment_notice", {**event.data, "kind": event.type.split(".", 1)[1],
                                                "billing_event_id": event.id}, subject=event.subject)

    for event_type in ("contract.payment_overdue", "contract.terminable"):
        inbox.handles(event_type)(_payment_notice)
    return inbox
