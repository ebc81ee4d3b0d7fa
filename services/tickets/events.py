"""Events this service applies: contract changes make cached entitlements stale."""

from __future__ import annotations

from typing import Callable

from shared.inbox import EventEnvelope, Inbox
from shared.uow import UnitOfWork


def build_inbox(forget: Callable[[str], None]) -> Inbox:
    inbox = Inbox()

    async def _forget(uow: UnitOfWork, event: EventEnvelope) -> None:
        """The customer's plan may have changed (suspended, resumed, upgraded, ended): the next
        ticket asks entitlements afresh instead of using a cached answer."""
        customer_id = event.data.get("customer_id")
        if customer_id:
            forget(customer_id)

    for event_type in ("contract.activated", "contract.suspended", "contract.resumed", "contract.upgraded",
                       "contract.terminated", "contract.expired", "contract.transferred"):
        inbox.handles(event_type)(_forget)
    return inbox
