"""The dunning run (R-B5, R-B6, R-E4, R-E5): flags late payers per contract, and can be run again
(or by several replicas at once) without emitting anything twice.

It walks the contracts that may need it (an unpaid invoice, or a standing that is not good) in
chunks by contract id, each chunk one transaction of a few set-based reads: the chunk's accounts
locked with `FOR UPDATE SKIP LOCKED` (an account another replica's run holds is that run's), their
unpaid invoices and those invoices' charges. Each contract is judged alone (R-E4: the customer's
other contracts keep their support) and each event is emitted once per episode, because the
account's standing records what was already said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Sequence

from services.billing import repository as repo
from services.billing.models import BillingAccount, Invoice
from services.billing.service.collection import CollectionService, in_arrears
from services.billing.service.invoicing import invoice_event
from services.billing.settings import BillingSettings
from services.billing.statuses import Standing
from shared.clock import local_date
from shared.runtime import Runtime
from shared.uow import UnitOfWork


@dataclass
class DunningResult:
    as_of: datetime
    overdue: list[str] = field(default_factory=list)  # contract ids newly flagged
    terminable: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)


class DunningRun:
    def __init__(self, runtime: Runtime, settings: BillingSettings) -> None:
        self.runtime, self.settings = runtime, settings

    async def run(self, as_of: datetime) -> DunningResult:
        result, after = DunningResult(as_of), ""
        while True:
            async with self.runtime.work() as uow:
                chunk = await repo.dunning_candidates(uow.session, after, self.settings.dunning_chunk_size)
                if not chunk:
                    return result
                await self._chunk(uow, chunk, local_date(as_of), result)
                await uow.commit()
            after = chunk[-1]

    async def _chunk(self, uow: UnitOfWork, contract_ids: Sequence[str], today: date, result: DunningResult) -> None:
        accounts = await repo.lock_accounts(uow.session, contract_ids)
        unpaid = await repo.unpaid_invoices_of(uow.session, [a.contract_id for a in accounts])
        charges = await repo.charges_of_invoices(uow.session, [i.id for invoices in unpaid.values() for i in invoices])
        collection = CollectionService(uow, self.settings)
        for account in accounts:
            late = in_arrears(unpaid.get(account.contract_id, ()), charges, today)
            await self._judge(uow, collection, account, late, today, result)
        await uow.session.flush()

    async def _judge(self, uow: UnitOfWork, collection: CollectionService, account: BillingAccount,
                     late: list[Invoice], today: date, result: DunningResult) -> None:
        contract_id = account.contract_id
        if not late:
            if account.standing != Standing.GOOD:
                await collection.settle(account)
                result.settled.append(contract_id)
            return
        since = min(i.due_date for i in late)
        terminable_on = since + timedelta(days=self.settings.terminable_after_days + 1)  # "more than 7 days late"
        owed = sum((i.gross_total - i.amount_paid for i in late), Decimal("0.00"))
        # `since` is kept beside `overdue_since` for receivers written before the rename
        notice = {"contract_id": contract_id, "customer_id": account.customer_id, "email": account.buyer.get("email"),
                  "amount_due": f"{owed:.2f}", "currency": "PLN", "overdue_since": since.isoformat(),
                  "since": since.isoformat(), "invoices": [invoice_event(i) for i in late]}
        if account.standing == Standing.GOOD:  # R-B5: suspend and tell the customer at the same time
            account.standing, account.overdue_since = Standing.OVERDUE, since
            uow.events.emit("contract.payment_overdue", {**notice, "reason": "payment overdue"}, subject=contract_id)
            result.overdue.append(contract_id)
        if account.terminable_since is None and today >= terminable_on:
            account.standing, account.terminable_since = Standing.TERMINABLE, terminable_on  # R-B6 / R-E5
            uow.events.emit("contract.terminable", {**notice, "terminable_since": terminable_on.isoformat(),
                                                    "days_late": (today - since).days}, subject=contract_id)
            result.terminable.append(contract_id)
        account.updated_at = uow.clock.now()
