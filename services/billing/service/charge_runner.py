"""Submits due charges to the payment provider, after the transaction that scheduled them has
committed (R-B2, R-B4), and reconciles charges whose outcome is unknown.

Nothing is charged twice: every attempt carries its own idempotency key, and a charge is marked
`unknown` *before* the provider is asked, so a crash or a timeout between asking and recording
leaves a charge that is reconciled with the provider (looked up by its key) before anything
else is tried. Charges are leased with `SKIP LOCKED`, so several replicas can run this.

A round claims up to `charge_batch` due charges and submits them `charge_concurrency` at a time.
The provider's rate limit is respected: a 429 holds every submission of this runner for its
`Retry-After` (`Throttle`) and the refused charge is sent again after the pause, under the same
key; a pause longer than `MAX_PAUSE` gives the round's remaining charges back, due now, to be
claimed by a later round (of any replica) once the pause is over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from services.billing import repository as repo
from services.billing.models import Charge
from services.billing.payments.provider import (
    Charge as ProviderCharge, ChargeRequest, PaymentProvider, ProviderRejected, ProviderThrottled, ProviderUnavailable,
)
from services.billing.service.collection import CollectionService
from services.billing.settings import BillingSettings
from services.billing.statuses import ChargeStatus, UNPAID
from shared.runtime import Runtime

log = logging.getLogger("billing.charges")

LEASE = timedelta(minutes=2)
RECONCILE_AFTER = timedelta(minutes=1)  # an unknown outcome is looked up again after this
MAX_PAUSE = 10.0  # seconds a round waits out the provider's Retry-After; longer, and it gives its charges back


@dataclass
class ChargeRunResult:
    submitted: int = 0
    reconciled: int = 0
    failed: int = 0
    throttled: int = 0  # requests the provider refused for its rate limit (sent again after the pause)


class Throttle:
    """The provider's `Retry-After`, shared by this runner's concurrent submissions (real seconds:
    it paces requests to the provider, it does not decide anything about the charges)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic, self._until = monotonic, 0.0

    def hold(self, seconds: float) -> None:
        self._until = max(self._until, self._monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self._until - self._monotonic())

    async def passed(self, longest: float) -> bool:
        """Waits out the pause if it ends within `longest` seconds (True); False if it is longer."""
        while (left := self.remaining()) > 0:
            if left > longest:
                return False
            await asyncio.sleep(left)
        return True


class ChargeRunner:
    def __init__(self, runtime: Runtime, settings: BillingSettings, provider: PaymentProvider) -> None:
        self.runtime, self.settings, self.provider = runtime, settings, provider
        self.throttle = Throttle()

    async def run_round(self) -> int:
        """One round of the background loop: how many charges got an answer (0: idle)."""
        result = await self.run_due()
        return result.submitted + result.reconciled + result.failed

    async def run_due(self, now: datetime | None = None, limit: int | None = None) -> ChargeRunResult:
        now = now or self.runtime.clock.now()
        result = ChargeRunResult()
        if not await self.throttle.passed(MAX_PAUSE):
            return result  # the provider asked for a longer pause: nothing is claimed until it is over
        async with self.runtime.db.transaction() as session:
            ids = await repo.claim_due_charges(session, now, now + LEASE, limit or self.settings.charge_batch)
        slots = asyncio.Semaphore(self.settings.charge_concurrency)

        async def one(charge_id: str) -> None:
            async with slots:
                try:
                    await self._one(charge_id, now, result)
                except Exception:  # noqa: BLE001 - one bad charge must not stop the others
                    log.exception("charge %s could not be processed; it is retried after its lease", charge_id)

        await asyncio.gather(*(one(charge_id) for charge_id in ids))
        return result

    async def _one(self, charge_id: str, now: datetime, result: ChargeRunResult) -> None:
        async with self.runtime.work() as uow:
            request = await self._attempt(uow, charge_id, now, result)
            await uow.commit()
        if request is None:
            return
        while True:  # after commit: the attempt is on record before any money moves
            if not await self.throttle.passed(MAX_PAUSE):
                await self._give_back(charge_id, now)
                return
            try:
                answer = await self.provider.create_charge(request)
            except ProviderThrottled as exc:  # nothing was created: the same request again, after the pause
                self.throttle.hold(exc.retry_after)
                result.throttled += 1
                continue
            except ProviderRejected as exc:
                answer = ProviderCharge(id=None, idempotency_key=request.idempotency_key, status="failed",
                                        amount=request.amount, amount_paid=Decimal("0.00"), failure_code=exc.code)
            break
        result.submitted += 1
        async with self.runtime.work() as uow:
            charge = await repo.charge(uow.session, charge_id=charge_id, for_update=True)
            assert charge is not None
            await self._apply(uow, charge, answer)
            await uow.commit()

    async def _attempt(self, uow, charge_id: str, now: datetime,  # type: ignore[no-untyped-def]
                       result: ChargeRunResult) -> ChargeRequest | None:
        """The charge's next step, decided under its row lock: a request to send the provider once
        this is committed, or None (reconciled, cancelled, failed, or the provider cannot tell)."""
        session = uow.session
        charge = await repo.charge(session, charge_id=charge_id, for_update=True)
        assert charge is not None
        if charge.status == "unknown":  # asked before, answer unknown: look it up first
            try:
                known = await self.provider.find_charge(charge.idempotency_key)
            except ProviderThrottled as exc:
                self.throttle.hold(exc.retry_after)
                result.throttled += 1
                charge.locked_until = None  # looked up again by the first round after the pause
                return None
            except ProviderUnavailable:
                return None  # the provider cannot tell now: looked up again when the lease runs out
            if known is not None:
                await self._apply(uow, charge, known)
                result.reconciled += 1
                return None
            # the provider never got it: submit again, under the same key
        invoice = await repo.invoice(session, charge.invoice_id)
        account = await repo.account(session, charge.contract_id)
        assert invoice is not None and account is not None
        left = invoice.gross_total - invoice.amount_paid
        if invoice.status not in UNPAID or left <= 0:
            charge.status = ChargeStatus.CANCELLED  # nothing left to collect
            return None
        if not account.payment_instrument:
            await CollectionService(uow, self.settings).outcome(charge, "failed",
                                                                failure_code="no_payment_instrument")
            result.failed += 1
            return None
        charge.amount, charge.status = left, "unknown"  # from here on, ask the provider before retrying
        charge.scheduled_for, charge.locked_until = now + RECONCILE_AFTER, None
        return ChargeRequest(idempotency_key=charge.idempotency_key, amount=left, currency="PLN",
                             method=charge.method, instrument=account.payment_instrument,  # type: ignore[arg-type]
                             description=f"Faktura {invoice.number}", reference=invoice.id)

    async def _give_back(self, charge_id: str, now: datetime) -> None:
        """Every request for this charge was refused with a 429, so the provider holds nothing under
        its key: it is scheduled again, due now, for the first round after the pause."""
        async with self.runtime.work() as uow:
            charge = await repo.charge(uow.session, charge_id=charge_id, for_update=True)
            if charge is not None and charge.status == "unknown":
                charge.status, charge.scheduled_for, charge.locked_until = ChargeStatus.SCHEDULED, now, None
            await uow.commit()

    async def _apply(self, uow, charge: Charge, answer: ProviderCharge) -> None:  # type: ignore[no-untyped-def]
        if answer.status == "unknown":
            return  # still unknown: stays `unknown`, looked up again later
        await CollectionService(uow, self.settings).outcome(
            charge, answer.status, amount_paid=answer.amount_paid, failure_code=answer.failure_code,
            provider_id=answer.id)
