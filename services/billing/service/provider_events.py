"""Webhook events from the payment provider, applied once (R-B2): a repeat, or a report that
arrives after the charge's outcome is known (out of order), changes nothing."""

from __future__ import annotations

from typing import Literal

from services.billing import repository as repo
from services.billing.models import ReceivedProviderEvent
from services.billing.payments.provider import ProviderEvent
from services.billing.service.collection import CollectionService
from services.billing.settings import BillingSettings
from shared.uow import UnitOfWork


async def apply_provider_event(uow: UnitOfWork, settings: BillingSettings,
                               event: ProviderEvent) -> Literal["applied", "duplicate", "ignored"]:
    # The charge's row lock first: a concurrent delivery of the same event waits here, then
    # finds the event recorded.
    charge = await repo.charge(uow.session, key=event.charge.idempotency_key, for_update=True)
    if await repo.provider_event_seen(uow.session, event.id):
        return "duplicate"
    uow.session.add(ReceivedProviderEvent(id=event.id, type=event.type, charge_id=event.charge.id,
                                          received_at=uow.clock.now()))
    if charge is None:
        await uow.session.flush()
        return "ignored"  # not a charge of ours (kept, so a repeat is recognised)
    await CollectionService(uow, settings).outcome(charge, event.charge.status, amount_paid=event.charge.amount_paid,
                                            failure_code=event.charge.failure_code, provider_id=event.charge.id)
    return "applied"
