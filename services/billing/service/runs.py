"""The monthly billing run (R-B1, R-B4, R-B8, R-B11). It takes an explicit `as_of`, works contract
by contract, each in its own transaction, and can be run again (or twice at once) without doing
anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy.exc import IntegrityError

from services.billing import repository as repo
from services.billing.errors import InvalidPeriod
from services.billing.service.accounts import UNITS, AccountService
from services.billing.service.price_schedule import fee_line
from services.billing.service.amounts import LineIn
from services.billing.service.invoicing import Issue
from services.billing.service.periods import Period, charge_window, covered_days
from services.billing.settings import BillingSettings
from services.billing.statuses import InvoicePurpose
from shared.clock import local_date
from shared.runtime import Runtime

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class BillingRunResult:
    period: str
    as_of: datetime
    contracts: int = 0
    invoiced: list[str] = field(default_factory=list)  # invoice numbers
    already_invoiced: int = 0
    not_in_term: int = 0
    charges_now: int = 0
    charges_scheduled: int = 0
    charges_manual: int = 0  # the window is over: the invoice waits for payment (R-B4)


def check_period(period: str, as_of: datetime) -> Period:
    try:
        parsed = Period.parse(period)
    except ValueError as exc:
        raise InvalidPeriod(str(exc)) from None
    latest = Period.of(local_date(as_of)).next()
    if parsed > latest:
        raise InvalidPeriod(f"{period} is beyond the next month ({latest}) as of {as_of.isoformat()}")
    return parsed


class BillingRun:
    def __init__(self, runtime: Runtime, settings: BillingSettings) -> None:
        self.runtime, self.settings = runtime, settings

    async def run(self, period_text: str, as_of: datetime, progress: Progress | None = None) -> BillingRunResult:
        period = check_period(period_text, as_of)
        result = BillingRunResult(str(period), as_of)
        async with self.runtime.db.session() as session:
            contracts = [a.contract_id for a in await repo.billable_accounts(session)]
        result.contracts = len(contracts)
        for done, contract_id in enumerate(contracts, start=1):
            try:
                async with self.runtime.work() as uow:
                    await self._one(uow, contract_id, period, as_of, result)
                    await uow.commit()
            except IntegrityError:  # a concurrent run invoiced it first (unique per contract and period)
                result.already_invoiced += 1
            if progress:
                progress(done, len(contracts))
        return result

    async def _one(self, uow, contract_id: str, period: Period, as_of: datetime,  # type: ignore[no-untyped-def]
                   result: BillingRunResult) -> None:
        accounts = AccountService(uow, self.settings)
        account = await accounts.get(contract_id, for_update=True)
        if account.contract_status != "active" or not covered_days(period, account.starts_on, account.ends_on):
            result.not_in_term += 1
            return
        if await repo.period_invoice(uow.session, contract_id, str(period)) is not None:
            result.already_invoiced += 1  # this run, or the first invoice, covered the period
            return
        owed = await accounts.prices.owed(account, period)  # the plan owed the day before the period (R-B7)
        items = [fee_line(owed, period, account.starts_on, account.ends_on)]
        usage = await repo.unbilled_usage(uow.session, contract_id)
        items += [LineIn(f"Nadwyżka: {u.metric} ({u.occurred_at:%Y-%m-%d})", u.quantity, UNITS.get(u.unit, u.unit),
                         u.unit_price_net, kind="overage", source_id=u.id) for u in usage]  # R-B8
        invoice = await accounts.invoicing.issue(account, Issue(
            purpose=InvoicePurpose.PERIOD, items=items, supply_date=max(period.first, account.starts_on),
            period=str(period),
            period_start=max(period.first, account.starts_on), period_end=min(period.last, account.ends_on),
            due_date=max(period.first, local_date(as_of))))
        for u in usage:
            u.invoice_id = invoice.id
        result.invoiced.append(invoice.number)
        window = charge_window(period, self.settings.charge_window_hours_before,
                               self.settings.charge_window_business_days)
        if window.contains(as_of):
            await accounts.collection.schedule(invoice, as_of)
            result.charges_now += 1
        elif as_of < window.opens_at:
            await accounts.collection.schedule(invoice, window.opens_at)
            result.charges_scheduled += 1
        else:
            result.charges_manual += 1
