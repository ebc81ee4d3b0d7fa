"""The billing service's metrics (docs/guides/operators.md lists them with example alerts):
charge failures and invoices issued, counted when their transaction commits; the billing run's
progress for this month and the next, invoices past due, and charges whose outcome is unknown,
counted on scrape. KSeF submission is not implemented (services/billing/ksef.py), so there is
no KSeF deadline to watch yet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing.models import BillingAccount, Charge, Invoice
from services.billing.service.periods import Period
from services.billing.statuses import MONTHLY_FEE, UNPAID, InvoiceKind
from shared.clock import local_date
from shared.metrics import BoundedLabel
from shared.runtime import Runtime

PURPOSES = ("first", "period", "upgrade", "correction")


def register(runtime: Runtime) -> None:
    m = runtime.metrics
    reason = BoundedLabel(limit=20)  # the provider's failure codes
    failures = m.counter("billing_charge_failures", "Charges that failed (card or direct debit), by the provider's "
                         "failure code (`no_payment_instrument` when there was nothing to charge)", ["reason"])
    issued = m.counter("billing_invoices_issued", "Invoices and credit notes issued", ["purpose"])

    def charge_failed(event: dict[str, Any]) -> None:
        failures.labels(m.service, reason(event["data"].get("failure_code"))).inc()

    def invoice_issued(event: dict[str, Any]) -> None:
        purpose = event["data"].get("purpose")
        issued.labels(m.service, purpose if purpose in PURPOSES else "other").inc()

    m.on_event(["payment.failed"], charge_failed)
    m.on_event(["invoice.issued", "invoice.credited"], invoice_issued)

    # `month`: current or next (Europe/Warsaw), so an alert needs no date arithmetic; `period`: YYYY-MM
    due = m.gauge("billing_run_contracts_due", "Active contracts whose term covers the period: what the billing "
                  "run of that period must invoice", ["month", "period"])
    invoiced = m.gauge("billing_run_contracts_invoiced", "Contracts with their invoice for the period (the billing "
                       "run's, or the first invoice)", ["month", "period"])
    overdue = m.gauge("billing_invoices_overdue", "Invoices unpaid after their due date")
    unknown = m.gauge("billing_charges_unknown", "Charges whose outcome the provider has not told yet (reconciled "
                      "by the charge runner)")

    async def scrape(session: AsyncSession, now: datetime) -> None:
        today = local_date(now)
        due.clear()  # only this month and the next are exported
        invoiced.clear()
        for month, period in (("current", Period.of(today)), ("next", Period.of(today).next())):
            m.set(due, (await session.execute(
                select(func.count()).select_from(BillingAccount).where(
                    BillingAccount.contract_status == "active", BillingAccount.starts_on <= period.last,
                    BillingAccount.ends_on >= period.first))).scalar_one(), month, str(period))
            m.set(invoiced, (await session.execute(
                select(func.count(func.distinct(Invoice.contract_id))).where(
                    Invoice.period == str(period), Invoice.purpose.in_(MONTHLY_FEE)))).scalar_one(),
                month, str(period))
        m.set(overdue, (await session.execute(select(func.count()).select_from(Invoice).where(
            Invoice.status.in_(UNPAID), Invoice.kind == InvoiceKind.INVOICE,
            Invoice.due_date < today))).scalar_one())
        m.set(unknown, (await session.execute(select(func.count()).select_from(Charge)
                                              .where(Charge.status == "unknown"))).scalar_one())

    m.on_scrape(scrape)
