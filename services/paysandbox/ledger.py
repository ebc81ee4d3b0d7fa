"""The sandbox's charges, in memory: created under an idempotency key, settled by scenario after
the processing delay, each settlement an event handed to the webhook sender. A restart forgets
everything; nothing here is persisted.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Coroutine

from services.paysandbox.delivery import WebhookSender
from services.paysandbox.scenarios import scenario_for
from shared.tasks import cancel_and_wait


@dataclass(frozen=True)
class ChargeTerms:
    """What the caller asked for: two creates under one key must ask for exactly this."""

    amount: Decimal
    currency: str
    method: str
    instrument: str
    description: str
    reference: str


@dataclass
class SandboxCharge:
    id: str
    idempotency_key: str
    terms: ChargeTerms
    created: int
    status: str = "pending"
    amount_paid: Decimal = Decimal("0.00")
    failure_code: str | None = None
    last_event: dict[str, Any] | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        t = self.terms
        return {"id": self.id, "idempotency_key": self.idempotency_key, "status": self.status,
                "amount": str(t.amount), "amount_paid": str(self.amount_paid), "currency": t.currency,
                "method": t.method, "instrument_last4": t.instrument[-4:], "description": t.description,
                "reference": t.reference, "failure_code": self.failure_code, "created": self.created}


class Ledger:
    def __init__(self, processing_delay: float, sender: WebhookSender | None) -> None:
        self.processing_delay, self.sender = processing_delay, sender
        self._by_id: dict[str, SandboxCharge] = {}
        self._by_key: dict[str, SandboxCharge] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, charge_id: str) -> SandboxCharge | None:
        return self._by_id.get(charge_id)

    def by_key(self, idempotency_key: str) -> SandboxCharge | None:
        return self._by_key.get(idempotency_key)

    def create(self, idempotency_key: str, terms: ChargeTerms) -> SandboxCharge:
        """A new pending charge, settled in the background. The caller has checked the key is new."""
        charge = SandboxCharge(id=f"ch_{secrets.token_hex(12)}", idempotency_key=idempotency_key, terms=terms,
                               created=int(time.time()))
        self._by_id[charge.id] = self._by_key[idempotency_key] = charge
        self._spawn(self._settle(charge))
        return charge

    def resend(self, charge: SandboxCharge) -> None:
        """Delivers the charge's last event again, under the same event id."""
        assert self.sender is not None and charge.last_event is not None
        self._spawn(self.sender.deliver(charge.last_event))

    async def aclose(self) -> None:
        await cancel_and_wait(self._tasks)
        if self.sender is not None:
            await self.sender.aclose()

    async def _settle(self, charge: SandboxCharge) -> None:
        await asyncio.sleep(self.processing_delay)
        scenario = scenario_for(charge.terms.instrument)
        charge.status, charge.failure_code = scenario.status, scenario.failure_code
        charge.amount_paid = scenario.amount_paid(charge.terms.amount)
        charge.last_event = {"id": f"evt_{secrets.token_hex(12)}", "type": f"charge.{scenario.status}",
                             "created": int(time.time()), "data": charge.as_json()}
        if self.sender is not None:
            await self.sender.deliver(charge.last_event)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
