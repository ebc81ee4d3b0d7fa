"""Billing accounts, kept from entitlements' contract events; the first invoice (R-B11), the
upgrade supplement (R-B7) and overage waiting for the next invoice (R-B8)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Sequence

from services.billing import repository as repo
from services.billing.errors import AccountNotFound, UsageConflict
from services.billing.models import BillingAccount, Invoice, PendingUsage, PlanPrice
from services.billing.service.amounts import LineIn
from services.billing.service.collection import CollectionService
from services.billing.service.invoicing import InvoicingService, Issue
from services.billing.service.periods import Period
from services.billing.service.price_schedule import PriceScheduleService, fee_line
from services.billing.service.prices import APPLIED, PENDING
from services.billing.settings import BillingSettings
from services.billing.statuses import ChargeStatus, InvoicePurpose
from shared.address import parse_one_line
from shared.auth import Principal
from shared.clock import local_date
from shared.ids import new_id
from shared.queries import found
from shared.uow import UnitOfWork

UNITS = {"minute": "min", "session": "szt.", "month": "mies."}


def buyer_of(billing: dict[str, Any]) -> dict[str, Any]:
    """The buyer as an invoice names it (R-B10): the structured address entitlements sends, or
    (events from before it did) its one-line address split into street, postal code and city."""
    if billing.get("street") and billing.get("postal_code") and billing.get("city"):
        street, code, city = billing["street"], billing["postal_code"], billing["city"]
    else:
        address = str(billing.get("address", "")).strip()
        parsed = parse_one_line(address)
        street, code, city = (parsed.street, parsed.postal_code, parsed.city) if parsed else (address, "", "")
    return {"name": billing["name"], "nip": billing["nip"], "street": street, "postal_code": code, "city": city,
            "email": billing.get("email")}


class AccountService:
    def __init__(self, uow: UnitOfWork, settings: BillingSettings) -> None:
        self.uow, self.settings = uow, settings
        self.session = uow.session
        self.invoicing = InvoicingService(uow, settings)
        self.collection = CollectionService(uow, settings)
        self.prices = PriceScheduleService(uow, settings, self.invoicing, self.collection)

    def now(self) -> datetime:
        return self.uow.clock.now()

    async def get(self, contract_id: str, *, for_update: bool = False,
                  seen_by: Principal | None = None) -> BillingAccount:
        return found(await repo.account(self.session, contract_id, for_update=for_update),
                     AccountNotFound(f"no billing account for contract {contract_id!r}"), seen_by=seen_by)

    async def visible(self, contract_id: str, principal: Principal, *, for_update: bool = False) -> BillingAccount:
        """The account, or 404 when it does not exist or belongs to another customer (no existence leak)."""
        return await self.get(contract_id, for_update=for_update, seen_by=principal)

    async def price_schedule(self, account: BillingAccount) -> Sequence[PlanPrice]:
        return await repo.price_schedule(self.session, account.contract_id)

    async def set_instrument(self, contract_id: str, payment_method: str, payment_instrument: str,
                             principal: Principal) -> BillingAccount:
        """R-B2: how the customer pays from now on. Charges waiting for a retry are brought
        forward to now; an unpaid invoice with no charge in flight gets a new one."""
        account = await self.visible(contract_id, principal, for_update=True)
        account.payment_method, account.payment_instrument = payment_method, payment_instrument
        account.updated_at = self.now()
        for invoice in await repo.unpaid_invoices(self.session, contract_id):  # try the new instrument now
            charges = await repo.charges_of(self.session, invoice.id)
            waiting = [c for c in charges if c.status == ChargeStatus.SCHEDULED]
            for charge in waiting:
                charge.scheduled_for = min(charge.scheduled_for, self.now())
            if not waiting and not any(c.status in (ChargeStatus.UNKNOWN, ChargeStatus.PENDING) for c in charges):
                await self.collection.schedule(invoice, self.now(), len(charges) + 1)
        await self.session.flush()
        return account

    async def open(self, data: dict[str, Any], event_id: str) -> Invoice | None:
        """`contract.created`: the account, and the first invoice for the rest of the start month
        (R-B11), charged at once (R-B1)."""
        if await repo.account(self.session, data["contract_id"]) is not None:
            return None
        account = BillingAccount(
            contract_id=data["contract_id"], customer_id=data["customer_id"], created_by=data.get("created_by"),
            product_id=data["product_id"], plan_id=data["plan_id"], plan_name=data.get("plan_name") or data["plan_id"],
            price_net=Decimal(data["price_net"]), contract_status=data.get("status", "pending_payment"),
            starts_on=date.fromisoformat(data["starts_on"]), ends_on=date.fromisoformat(data["ends_on"]),
            buyer=buyer_of(data["billing"]), payment_method=data["payment_method"],
            payment_instrument=(data.get("billing") or {}).get("payment_instrument"),
            created_at=self.now(), updated_at=self.now())
        self.session.add(account)
        await self.session.flush()
        bought = await self.prices.add(account, plan_id=account.plan_id, plan_name=account.plan_name,
                                       price_net=account.price_net, effective_from=account.starts_on, state=APPLIED)
        period = Period.of(account.starts_on)
        line = fee_line(bought, period, account.starts_on, account.ends_on)
        today = local_date(self.now())
        invoice = await self.invoicing.issue(account, Issue(
            purpose=InvoicePurpose.FIRST, items=[line], supply_date=account.starts_on, period=str(period),
            period_start=max(period.first, account.starts_on), period_end=min(period.last, account.ends_on),
            due_date=today + timedelta(days=self.settings.payment_terms_days), origin_key=f"event:{event_id}"))
        await self.collection.schedule(invoice, self.now())
        return invoice

    async def contract_changed(self, data: dict[str, Any]) -> None:
        """Any other `contract.*` event: the status (and term) billing invoices by."""
        account = await repo.account(self.session, data["contract_id"], for_update=True)
        if account is None:
            return
        account.contract_status = data.get("status", account.contract_status)
        if data.get("ends_on"):
            account.ends_on = date.fromisoformat(data["ends_on"])
        account.updated_at = self.now()
        await self.session.flush()

    async def upgrade_requested(self, data: dict[str, Any], event_id: str) -> Invoice | None:
        """R-B7: the prorated supplement for the rest of the upgrade's month, invoiced and charged
        at once; the new plan's price is owed from the upgrade's date once it applies (a pending
        row of the price schedule until then)."""
        if await repo.invoice_by_origin(self.session, f"event:{event_id}") is not None:
            return None
        account = await self.get(data["contract_id"], for_update=True)
        quote = data["quote"]
        to_name = data.get("to_plan_name") or data["to_plan_id"]
        on = date.fromisoformat(data["as_of"])
        period = Period.of(on)
        name = (f"Dopłata: zmiana planu {account.plan_name} → {to_name}, "
                f"{quote['remaining_days']}/{quote['days_in_month']} dni {period.month:02d}/{period.year}")
        invoice = await self.invoicing.issue(account, Issue(
            purpose=InvoicePurpose.UPGRADE, items=[LineIn(name, Decimal(1), "szt.", Decimal(quote["net"]),
                                                           kind="supplement",
                                              plan_id=data["to_plan_id"])],
            supply_date=on, period=str(period), period_start=on, period_end=min(period.last, account.ends_on),
            due_date=local_date(self.now()) + timedelta(days=self.settings.payment_terms_days),
            origin_key=f"event:{event_id}"))
        await self.prices.add(account, plan_id=data["to_plan_id"], plan_name=to_name,
                              price_net=Decimal(data["to_price_net"]), effective_from=on, state=PENDING,
                              origin_key=f"event:{event_id}", invoice_id=invoice.id)
        await self.collection.schedule(invoice, self.now())
        return invoice

    async def upgraded(self, data: dict[str, Any], event_id: str) -> None:
        """`contract.upgraded`: the plan switched; its price is owed from the upgrade's date, and
        periods billed since at the old fee are repriced (R-B7)."""
        account = await repo.account(self.session, data["contract_id"], for_update=True)
        if account is None:
            return
        await self.prices.apply(account, data, event_id)
        account.updated_at = self.now()
        await self.session.flush()

    async def add_usage(self, data: dict[str, Any]) -> tuple[PendingUsage, bool]:
        """R-B8: overage for the next invoice, once per usage event id."""
        existing = await repo.usage_by_event(self.session, data["event_id"])
        quantity, price = Decimal(str(data["quantity"])), Decimal(str(data["unit_price_net"]))
        if existing is not None:
            if (existing.contract_id, existing.metric, existing.quantity, existing.unit_price_net) != (
                    data["contract_id"], data["metric"], quantity, price):
                raise UsageConflict(f"usage event {data['event_id']} was recorded with other values")
            return existing, False
        await self.get(data["contract_id"])
        usage = PendingUsage(id=new_id("ovg"), event_id=data["event_id"], contract_id=data["contract_id"],
                             metric=data["metric"], unit=data.get("unit") or "unit", quantity=quantity,
                             unit_price_net=price, occurred_at=datetime.fromisoformat(data["occurred_at"]),
                             created_at=self.now())
        self.session.add(usage)
        await self.session.flush()
        return usage, True
