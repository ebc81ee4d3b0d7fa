"""Collecting invoices: charges, payments received, and a contract's standing (R-B1, R-B2,
R-B5, R-E4). No calls to the provider here (service/charge_runner.py makes them after commit);
this module records what was asked and what came back, once.

Events: a paid first invoice → `contract.paid` (entitlements activates); a paid upgrade
supplement → `contract.upgrade_paid` (the plan switches, R-B7); arrears cleared on a contract
flagged overdue → `contract.payment_settled` (support resumes).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Mapping, Sequence

from services.billing import repository as repo
from services.billing.models import BillingAccount, Charge, Invoice, Payment
from services.billing.service.invoicing import invoice_event
from services.billing.service.prices import PENDING
from services.billing.settings import BillingSettings
from services.billing.statuses import UNPAID, ChargeStatus, InvoiceKind, InvoicePurpose, InvoiceStatus, Standing
from shared.clock import local_date
from shared.errors import Conflict
from shared.ids import new_id
from shared.uow import UnitOfWork

CHARGE_LOOP = "charges"  # the charge runner's loop (service/charge_runner.py)
TERMINAL = (ChargeStatus.SUCCEEDED, ChargeStatus.PARTIALLY_PAID, ChargeStatus.FAILED, ChargeStatus.CANCELLED)


class CollectionService:
    def __init__(self, uow: UnitOfWork, settings: BillingSettings) -> None:
        self.uow, self.settings = uow, settings
        self.session = uow.session

    def now(self) -> datetime:
        return self.uow.clock.now()

    async def schedule(self, invoice: Invoice, when: datetime, attempt: int = 1) -> Charge:
        """A charge of what is left on the invoice, to be submitted at `when` (R-B4)."""
        charge = Charge(id=new_id("chg"), invoice_id=invoice.id, contract_id=invoice.contract_id, attempt=attempt,
                        idempotency_key=f"{invoice.id}:{attempt}", method=invoice.payment_method,
                        amount=invoice.gross_total - invoice.amount_paid, status=ChargeStatus.SCHEDULED,
                        scheduled_for=when,
                        created_at=self.now(), updated_at=self.now())
        self.session.add(charge)
        await self.session.flush()
        self.uow.wake(CHARGE_LOOP)  # submitted right after the commit; the runner's timer is the fallback
        return charge

    async def outcome(self, charge: Charge, status: str, *, amount_paid: Decimal = Decimal("0.00"),
                      failure_code: str | None = None, provider_id: str | None = None) -> None:
        """What the provider says became of a charge. A charge that already has its outcome
        keeps it: a repeated or late (out-of-order) report changes nothing."""
        if charge.status in TERMINAL:
            return
        charge.provider_charge_id = provider_id or charge.provider_charge_id
        charge.status, charge.updated_at, charge.locked_until = status, self.now(), None
        if status not in TERMINAL:  # pending: the answer comes by webhook
            await self.session.flush()
            return
        charge.failure_code, charge.amount_paid = failure_code, amount_paid
        await self.session.flush()
        invoice = await repo.invoice(self.session, charge.invoice_id, for_update=True)
        assert invoice is not None
        if amount_paid > 0:
            await self.record_payment(invoice, amount_paid, "provider", charge_id=charge.id,
                                      reference=charge.provider_charge_id)
        if status == ChargeStatus.FAILED:
            self.uow.events.emit("payment.failed", invoice_event(invoice, charge_id=charge.id, attempt=charge.attempt,
                                                                 failure_code=failure_code), subject=invoice.id)
            retries = self.settings.retry_after_days
            if invoice.status in UNPAID and charge.attempt <= len(retries):
                await self.schedule(invoice, self.now() + timedelta(days=retries[charge.attempt - 1]),
                                    charge.attempt + 1)

    async def record_manual_payment(self, invoice: Invoice, amount: Decimal, reference: str | None) -> Payment:
        """A bank transfer recorded by finance (R-B5): only an invoice something is still owed on."""
        locked = await repo.invoice(self.session, invoice.id, for_update=True)
        assert locked is not None
        if locked.kind != InvoiceKind.INVOICE or locked.status not in UNPAID:
            raise Conflict(f"{locked.number} is {locked.status}; nothing is owed on it")
        return await self.record_payment(locked, amount, "manual", reference=reference)

    async def record_payment(self, invoice: Invoice, amount: Decimal, source: str, *, charge_id: str | None = None,
                             reference: str | None = None) -> Payment:
        """Money received against an invoice; partial payments are kept as such (R-B5)."""
        payment = Payment(id=new_id("pay"), invoice_id=invoice.id, charge_id=charge_id, amount=amount, source=source,
                          reference=reference, received_at=self.now())
        self.session.add(payment)
        invoice.amount_paid += amount
        fully = invoice.amount_paid >= invoice.gross_total
        invoice.status = InvoiceStatus.PAID if fully else InvoiceStatus.PARTIALLY_PAID
        await self.session.flush()
        self.uow.events.emit("payment.received", invoice_event(invoice, payment_id=payment.id, amount=f"{amount:.2f}",
                                                               source=source), subject=invoice.id)
        if not fully:
            return payment
        invoice.paid_at = self.now()
        for pending in await repo.charges_of(self.session, invoice.id):
            if pending.status == ChargeStatus.SCHEDULED:
                pending.status, pending.updated_at = ChargeStatus.CANCELLED, self.now()  # nothing left to collect
        self.uow.events.emit("invoice.paid", invoice_event(invoice), subject=invoice.id)
        account = await repo.account(self.session, invoice.contract_id, for_update=True)
        assert account is not None
        if invoice.purpose == InvoicePurpose.FIRST:  # R-B1: paying activates the contract
            self.uow.events.emit("contract.paid", self._contract(account, invoice_id=invoice.id),
                                 subject=account.contract_id)
        elif invoice.purpose == InvoicePurpose.UPGRADE:  # R-B7: the plan switches once its supplement is paid
            upgrade = await repo.price_of_supplement(self.session, invoice.id)
            if upgrade is not None and upgrade.state == PENDING:
                self.uow.events.emit("contract.upgrade_paid", self._contract(
                    account, invoice_id=invoice.id, plan_id=upgrade.plan_id), subject=account.contract_id)
        await self.refresh_standing(account)
        return payment

    async def refresh_standing(self, account: BillingAccount, today: date | None = None) -> None:
        """Arrears cleared on a contract flagged overdue → `contract.payment_settled` (R-E4)."""
        if account.standing == Standing.GOOD:
            return
        if await self.arrears(account.contract_id, today):
            return
        await self.settle(account)

    async def settle(self, account: BillingAccount) -> None:
        """A contract flagged overdue whose arrears are paid: good standing again, support resumes."""
        account.standing, account.overdue_since, account.terminable_since = Standing.GOOD, None, None
        account.updated_at = self.now()
        await self.session.flush()
        self.uow.events.emit("contract.payment_settled", self._contract(account, reason="arrears paid"),
                             subject=account.contract_id)

    async def arrears(self, contract_id: str, today: date | None = None) -> list[Invoice]:
        """A contract's invoices in arrears (R-B5): unpaid or short after the due date, or whose
        last charge failed."""
        invoices = await repo.unpaid_invoices(self.session, contract_id)
        charges = {i.id: list(await repo.charges_of(self.session, i.id)) for i in invoices}
        return in_arrears(invoices, charges, today or local_date(self.now()))

    @staticmethod
    def _contract(account: BillingAccount, **extra: object) -> dict[str, object]:
        return {"contract_id": account.contract_id, "customer_id": account.customer_id,
                "product_id": account.product_id, "plan_id": account.plan_id, "email": account.buyer.get("email"),
                **extra}


def in_arrears(unpaid: Sequence[Invoice], charges: Mapping[str, Sequence[Charge]], today: date) -> list[Invoice]:
    """Of a contract's unpaid invoices (oldest due first), those in arrears (R-B5): past their
    due date, or whose last settled charge (by attempt) failed (a retry may be scheduled already)."""
    late = []
    for invoice in unpaid:
        done = [c for c in charges.get(invoice.id, ())
                if c.status in (ChargeStatus.SUCCEEDED, ChargeStatus.PARTIALLY_PAID, ChargeStatus.FAILED)]
        failed = bool(done) and done[-1].status == ChargeStatus.FAILED
        if invoice.due_date < today or failed:
            late.append(invoice)
    return late
