"""The dunning run (R-B5, R-B6, R-E4, R-E5): flags late payers per contract, each in its own
transaction, and can be run again (or twice at once) without emitting anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from services.billing import repository as repo
from services.billing.service.collection import CollectionService
from services.billing.service.invoicing import invoice_event
from services.billing.settings import BillingSettings
from services.billing.statuses import Standing
from shared.clock import local_date
from shared.runtime import Runtime


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
        result = DunningResult(as_of)
        async with self.runtime.db.session() as session:
            contracts = list(await repo.accounts_with_open_invoices(session))
        for contract_id in contracts:
            async with self.runtime.work() as uow:
                await self._one(uow, contract_id, as_of, result)
                await uow.commit()
        return result

    async def _one(self, uow, contract_id: str, as_of: datetime,  # type: ignore[no-untyped-def]
                   result: DunningResult) -> None:
        """Per contract (R-E4): the customer's other contracts keep their support."""
        collection = CollectionService(uow, self.settings)
        account = await repo.account(uow.session, contract_id, for_update=True)
        assert account is not None
        today = local_date(as_of)
        late = await collection.arrears(contract_id, today)
        if not late:
            before = account.standing
            await collection.refresh_standing(account, today)
            if before != "good":
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
        await uow.session.flush()
