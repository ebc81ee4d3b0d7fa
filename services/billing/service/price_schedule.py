"""A contract's price schedule and the monthly fee it owes (R-B7, R-B11).

The plan bought opens the schedule; an upgrade request adds a `pending` row from its date and
issues the supplement; entitlements' `contract.upgraded` (the plan switched: supplement paid, or
a zero fee) applies it. Periods already billed when the schedule changes are repriced: a period
that now owes more gets a catch-up invoice for the difference, one that owes less a credit note,
so that every day of the contract is paid once, at the plan owed that day (service/prices.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.billing import repository as repo
from services.billing.models import BillingAccount, Invoice, PlanPrice
from services.billing.service.amounts import LineIn
from services.billing.service.collection import CollectionService
from services.billing.service.invoicing import InvoicingService, Issue
from services.billing.service.periods import Period
from services.billing.service.prices import APPLIED, PENDING, fee, owed_for
from services.billing.settings import BillingSettings
from services.billing.statuses import InvoicePurpose
from shared.clock import local_date
from shared.ids import new_id
from shared.uow import UnitOfWork


def fee_line(row: PlanPrice, period: Period, starts_on: date, ends_on: date) -> LineIn:
    """A month of support at a plan, or the part of it the term covers, prorated by days (R-B11);
    the line remembers the price row it was billed at."""
    owed = fee(row, period, starts_on, ends_on)
    name = f"Wsparcie techniczne — {row.plan_name}, {period.month:02d}/{period.year}"
    if owed.days != owed.period_days:
        name += f" ({owed.days}/{owed.period_days} dni)"
    return LineIn(name, Decimal(1), "mies.", owed.net, kind="subscription", source_id=row.id, plan_id=row.plan_id)


class PriceScheduleService:
    def __init__(self, uow: UnitOfWork, settings: BillingSettings, invoicing: InvoicingService,
                 collection: CollectionService) -> None:
        self.uow, self.settings = uow, settings
        self.session = uow.session
        self.invoicing, self.collection = invoicing, collection

    async def rows(self, contract_id: str) -> list[PlanPrice]:
        return list(await repo.price_schedule(self.session, contract_id))

    async def owed(self, account: BillingAccount, period: Period) -> PlanPrice:
        return owed_for(await self.rows(account.contract_id), period)  # type: ignore[return-value]

    async def add(self, account: BillingAccount, *, plan_id: str, plan_name: str, price_net: Decimal,
                  effective_from: date, state: str, origin_key: str | None = None,
                  invoice_id: str | None = None) -> PlanPrice:
        rows = await self.rows(account.contract_id)
        now = self.uow.clock.now()
        row = PlanPrice(id=new_id("prc"), contract_id=account.contract_id, seq=len(rows), plan_id=plan_id,
                        plan_name=plan_name, price_net=price_net, effective_from=effective_from, state=state,
                        origin_key=origin_key, invoice_id=invoice_id, created_at=now,
                        applied_at=now if state == APPLIED else None)
        self.session.add(row)
        await self.session.flush()
        return row

    async def apply(self, account: BillingAccount, data: dict[str, Any], event_id: str) -> PlanPrice:
        """`contract.upgraded`: the upgrade's price row is owed from its date (its supplement's
        row, or a new one for a zero-fee upgrade); periods after that date already billed at the
        old fee are repriced."""
        plan_id = data.get("plan_id", account.plan_id)
        pending = [r for r in await self.rows(account.contract_id) if r.state == PENDING and r.plan_id == plan_id]
        if pending:
            row = pending[-1]
            row.state, row.applied_at = APPLIED, self.uow.clock.now()
        else:  # no supplement (zero fee, R-B7): owed from the upgrade's date
            on = data.get("as_of") or data.get("upgraded_on") or local_date(self.uow.clock.now()).isoformat()
            row = await self.add(account, plan_id=plan_id, plan_name=data.get("plan_name") or plan_id,
                                 price_net=Decimal(data.get("price_net") or account.price_net),
                                 effective_from=date.fromisoformat(on), state=APPLIED, origin_key=f"event:{event_id}")
        account.plan_id, account.plan_name, account.price_net = row.plan_id, row.plan_name, row.price_net
        await self.session.flush()
        await self.reprice(account, after=row.effective_from)
        return row

    async def reprice(self, account: BillingAccount, after: date | None = None) -> list[Invoice]:
        """Every billed period starting after `after` (all when None) brought to the fee its
        schedule owes: a catch-up invoice for what is missing, a credit note for what is too much.
        Idempotent: a period billed at what it owes is left alone."""
        schedule = await self.rows(account.contract_id)
        issued = []
        for text, billed in sorted((await repo.billed_fees(self.session, account.contract_id)).items()):
            period = Period.parse(text)
            if after is not None and period.first <= after:
                continue
            row = owed_for(schedule, period)
            due = fee(row, period, account.starts_on, account.ends_on).net
            if due > billed:
                issued.append(await self._catch_up(account, period, row, due, billed))  # type: ignore[arg-type]
            elif due < billed:
                issued.append(await self._give_back(account, period, row, billed - due))  # type: ignore[arg-type]
        return issued

    async def _catch_up(self, account: BillingAccount, period: Period, row: PlanPrice, due: Decimal,
                        billed: Decimal) -> Invoice:
        net = due - billed
        today = local_date(self.uow.clock.now())
        name = (f"Wyrównanie opłaty: {row.plan_name} od {row.effective_from:%d.%m.%Y}, "
                f"{period.month:02d}/{period.year}")
        invoice = await self.invoicing.issue(account, Issue(
            purpose=InvoicePurpose.UPGRADE, items=[LineIn(name, Decimal(1), "mies.", net, kind="subscription",
                                                           source_id=row.id,
                                              plan_id=row.plan_id)],
            supply_date=max(period.first, account.starts_on), period=str(period),
            period_start=max(period.first, account.starts_on), period_end=min(period.last, account.ends_on),
            due_date=today + timedelta(days=self.settings.payment_terms_days),
            origin_key=f"fee:{account.contract_id}:{period}:{row.id}:{billed}"))
        await self.collection.schedule(invoice, self.uow.clock.now())
        return invoice

    async def _give_back(self, account: BillingAccount, period: Period, row: PlanPrice, net: Decimal) -> Invoice:
        original = await repo.fee_invoice(self.session, account.contract_id, str(period))
        assert original is not None, "a billed period has its fee invoice"
        name = f"Korekta opłaty: {row.plan_name}, {period.month:02d}/{period.year}"
        reason = (f"opłata za {period.month:02d}/{period.year} według planu {row.plan_name} "
                  f"(od {row.effective_from:%d.%m.%Y}); nadpłata {net:.2f} zł netto")
        return await self.invoicing.credit_fee(original, net, name, row.id, row.plan_id, reason)
