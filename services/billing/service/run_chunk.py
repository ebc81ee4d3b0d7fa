"""One chunk of a billing run, set-based (R-B1, R-B4, R-B8, R-B9, R-B11).

A chunk is a range of contract ids invoiced in one transaction of a handful of statements: the
range's accounts (locked), the period invoices it already has, its price schedules and its
unbilled usage are read with one query each; every invoice is worked out in memory; a block of
numbers is taken from the counter (gap-free: a rollback gives it back); then the invoices, their
lines, their charges, their `invoice.issued` events and the usage they bill are written with one
multi-row statement each. A contract that cannot be invoiced is recorded as a failure and the
chunk goes on. Each distinct set of line texts in a chunk is rendered once as FA(3) XML and
validated (`exportable`, as every invoice issued one by one is): a catalogue text KSeF would
refuse fails its contracts instead of numbering invoices that can never be exported. (The
buyer, the other free text, was validated with the account's first invoice.)

`plan_period_invoice` is the one rule of what a period invoice holds; the one-by-one path
(service/run_worker.py, when the set-based transaction fails) issues the same invoice through
`InvoicingService`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Sequence

from services.billing import repository as repo
from services.billing.models import BillingAccount, Charge, Invoice, InvoiceLine, PendingUsage, PlanPrice
from services.billing.service.accounts import UNITS
from services.billing.service.amounts import Amounts, LineIn, compute
from services.billing.service.collection import CHARGE_LOOP
from services.billing.document import document_of
from services.billing.errors import InvoiceNotExportable
from services.billing.service.invoicing import Issue, exportable, per_rate_rows, invoice_event, seller
from services.billing.service.periods import Period, charge_window, covered_days
from services.billing.service.price_schedule import fee_line
from services.billing.service.prices import owed_for
from services.billing.settings import BillingSettings
from services.billing.statuses import ChargeStatus, InvoiceKind, InvoicePurpose, InvoiceStatus
from shared.clock import local_date
from shared.ids import new_id
from shared.uow import UnitOfWork

ZERO = Decimal("0.00")


@dataclass
class Figures:
    """What a chunk (and, summed, a run) did; the counts the billing run has always reported."""

    contracts: int = 0
    invoiced: int = 0
    already_invoiced: int = 0
    not_in_term: int = 0
    failed: int = 0
    charges_now: int = 0
    charges_scheduled: int = 0
    charges_manual: int = 0

    def add(self, other: "Figures") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_columns(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Outcome:
    figures: Figures = field(default_factory=Figures)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (contract id, reason)
    numbers: list[str] = field(default_factory=list)


def plan_period_invoice(account: BillingAccount, schedule: Sequence[PlanPrice], usage: Sequence[PendingUsage],
                        period: Period, as_of: datetime) -> Issue:
    """The period's invoice of an active contract whose term covers it: the fee of the plan owed
    the day before the period (R-B7, R-B11), prorated to the term, and each pending overage
    (R-B8). Raises ValueError when the contract has no price to bill."""
    owed = owed_for(schedule, period)
    items = [fee_line(owed, period, account.starts_on, account.ends_on)]  # type: ignore[arg-type]
    items += [LineIn(f"Nadwyżka: {u.metric} ({u.occurred_at:%Y-%m-%d})", u.quantity, UNITS.get(u.unit, u.unit),
                     u.unit_price_net, kind="overage", source_id=u.id) for u in usage]
    first = max(period.first, account.starts_on)
    return Issue(purpose=InvoicePurpose.PERIOD, items=items, supply_date=first, period=str(period),
                 period_start=first, period_end=min(period.last, account.ends_on),
                 due_date=max(period.first, local_date(as_of)))


def charge_time(period: Period, as_of: datetime, settings: BillingSettings) -> tuple[str, datetime | None]:
    """R-B4: inside the window the charge is submitted now; before it, at its opening; after it,
    never (the invoice waits for the customer's payment)."""
    window = charge_window(period, settings.charge_window_hours_before, settings.charge_window_business_days)
    if window.contains(as_of):
        return "charges_now", as_of
    if as_of < window.opens_at:
        return "charges_scheduled", window.opens_at
    return "charges_manual", None


def in_term(account: BillingAccount, period: Period) -> bool:
    return account.contract_status == "active" and covered_days(period, account.starts_on, account.ends_on) > 0


class ChunkInvoicer:
    def __init__(self, uow: UnitOfWork, settings: BillingSettings) -> None:
        self.uow, self.settings = uow, settings
        self.session = uow.session

    async def invoice(self, period: Period, as_of: datetime, low: str, high: str | None) -> Outcome:
        """Invoices every active contract in [low, high) for the period, in this unit of work."""
        outcome = Outcome()
        figures = outcome.figures
        accounts = await repo.active_accounts_in(self.session, low, high)
        billed = await repo.period_invoiced_in(self.session, str(period), low, high)
        schedules = await repo.price_schedules_in(self.session, low, high)
        usage = await repo.unbilled_usage_in(self.session, low, high)
        planned: list[tuple[BillingAccount, Issue, Amounts]] = []
        refused: dict[tuple[tuple[str, str], ...], str | None] = {}  # line texts → why they cannot be exported
        for account in accounts:
            figures.contracts += 1
            if not in_term(account, period):
                figures.not_in_term += 1
            elif account.contract_id in billed:
                figures.already_invoiced += 1  # an earlier run, or the first invoice, covered the period
            else:
                try:
                    issue = plan_period_invoice(account, schedules.get(account.contract_id, ()),
                                                usage.get(account.contract_id, ()), period, as_of)
                    amounts = compute(issue.items)
                    texts = tuple((line.name, line.unit) for line in amounts.lines)
                    if texts not in refused:
                        refused[texts] = self._refusal(account, issue, amounts)
                    if refused[texts]:
                        outcome.failures.append((account.contract_id, str(refused[texts])))
                        continue
                    planned.append((account, issue, amounts))
                except (ValueError, ArithmeticError) as exc:
                    outcome.failures.append((account.contract_id, f"{type(exc).__name__}: {exc}"[:500]))
        figures.failed = len(outcome.failures)
        if planned:
            await self._write(planned, period, as_of, outcome)
        return outcome

    def _refusal(self, account: BillingAccount, issue: Issue, amounts: Amounts) -> str | None:
        """Why this invoice could not be exported as FA(3), or None: rendered with a number of the
        series' shape (the real block is taken last)."""
        now = self.uow.clock.now()
        today = local_date(now)
        row = {**_invoice_row(account, issue, amounts, today, seller(self.settings), now),
               "number": f"{self.settings.invoice_series}/{today:%Y}/{today:%m}/000000"}
        try:
            exportable(document_of(Invoice(**row), [InvoiceLine(**_line_row(row["id"], line))
                                                    for line in amounts.lines]))
        except InvoiceNotExportable as exc:
            return f"{exc.code}: {exc.detail}"[:500]
        return None

    async def _write(self, planned: list[tuple[BillingAccount, Issue, Amounts]], period: Period, as_of: datetime,
                     outcome: Outcome) -> None:
        now = self.uow.clock.now()
        today = local_date(now)
        sold_by = seller(self.settings)
        figure, charge_at = charge_time(period, as_of, self.settings)
        invoices = [_invoice_row(account, issue, amounts, today, sold_by, now) for account, issue, amounts in planned]
        lines = [_line_row(invoice["id"], line) for invoice, (_, _, amounts) in zip(invoices, planned)
                 for line in amounts.lines]
        billed_usage = [{"usage_id": item.source_id, "billed_by": invoice["id"]}
                        for invoice, (_, issue, _) in zip(invoices, planned) for item in issue.items
                        if item.kind == "overage"]
        charges = [_charge_row(invoice, charge_at, now) for invoice in invoices] if charge_at is not None else []
        # the numbers last: the counter row stays locked from here to the commit, so other
        # workers' chunks wait for it as briefly as possible (R-B9: gap-free, given back on rollback)
        series = self.settings.invoice_series
        first = await repo.take_numbers(self.session, series, f"{today:%Y-%m}", len(invoices))
        for n, invoice in enumerate(invoices):
            invoice["number"] = f"{series}/{today:%Y}/{today:%m}/{first + n:06d}"
        await repo.insert_rows(self.session, Invoice, invoices)
        await repo.insert_rows(self.session, InvoiceLine, lines)
        await repo.insert_rows(self.session, Charge, charges)
        await repo.mark_usage_billed(self.session, billed_usage)
        await self.uow.events.emit_many("invoice.issued", [
            (invoice_event(SimpleNamespace(**invoice)), invoice["id"]) for invoice in invoices])  # type: ignore[arg-type]
        if charges:
            self.uow.wake(CHARGE_LOOP)
        outcome.numbers += [invoice["number"] for invoice in invoices]
        outcome.figures.invoiced += len(invoices)
        setattr(outcome.figures, figure, getattr(outcome.figures, figure) + len(invoices))


def _invoice_row(account: BillingAccount, issue: Issue, amounts: Amounts, today: date, sold_by: dict[str, Any],
                 now: datetime) -> dict[str, Any]:
    return {"id": new_id("inv"), "number": None, "kind": InvoiceKind.INVOICE, "purpose": issue.purpose,
            "origin_key": None, "contract_id": account.contract_id, "customer_id": account.customer_id,
            "created_by": account.created_by, "period": issue.period, "issue_date": today,
            "supply_date": issue.supply_date, "period_start": issue.period_start, "period_end": issue.period_end,
            "due_date": issue.due_date, "seller": sold_by, "buyer": account.buyer,
            "payment_method": account.payment_method, "net_total": amounts.net, "vat_total": amounts.vat,
            "gross_total": amounts.gross, "per_rate": per_rate_rows(amounts.per_rate), "amount_paid": ZERO,
            "status": InvoiceStatus.OPEN, "corrects_id": None, "correction_reason": None, "ksef_number": None,
            "paid_at": None, "created_at": now}


def _line_row(invoice_id: str, line: Any) -> dict[str, Any]:
    return {"invoice_id": invoice_id, "position": line.position, "name": line.name, "quantity": line.quantity,
            "unit": line.unit, "unit_net": line.unit_net, "net": line.net, "vat_rate": line.vat_rate, "vat": line.vat,
            "gross": line.gross, "kind": line.kind, "source_id": line.source_id, "plan_id": line.plan_id}


def _charge_row(invoice: dict[str, Any], when: datetime, now: datetime) -> dict[str, Any]:
    """The same first charge as `CollectionService.schedule` (attempt 1, the invoice's key)."""
    return {"id": new_id("chg"), "invoice_id": invoice["id"], "contract_id": invoice["contract_id"], "attempt": 1,
            "idempotency_key": f"{invoice['id']}:1", "method": invoice["payment_method"],
            "amount": invoice["gross_total"], "status": ChargeStatus.SCHEDULED, "scheduled_for": when,
            "locked_until": None, "provider_charge_id": None, "failure_code": None, "amount_paid": ZERO,
            "created_at": now, "updated_at": now}
