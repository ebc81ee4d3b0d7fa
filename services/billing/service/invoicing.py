"""Issuing invoices and credit notes (R-B3, R-B9, R-B10, R-B12).

An invoice is issued whole in one transaction: number, lines and totals; it is never edited
afterwards (only its payment state moves), and a mistake is corrected by a credit note. Before
the transaction ends the document is rendered as FA(3) XML and validated against the XSD
(`exportable`): one that could never be exported is not issued, and the rollback gives its
number back (R-B9 gap-free).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Sequence

from services.billing import repository as repo
from services.billing.document import InvoiceDocument, document_of
from services.billing.errors import CreditTooLarge, InvoiceNotExportable, InvoiceNotFound, NotCreditable
from services.billing.models import BillingAccount, Invoice, InvoiceLine
from services.billing.service.amounts import LineIn, compute
from services.billing.settings import BillingSettings
from services.billing.statuses import InvoiceKind, InvoicePurpose, InvoiceStatus
from shared.auth import Principal
from shared.clock import local_date
from shared.ids import new_id
from shared.queries import KeysetPage, found
from shared.roles import BILLING_ADMIN
from shared.uow import UnitOfWork


def seller(settings: BillingSettings) -> dict[str, Any]:
    return {"name": settings.seller_name, "nip": settings.seller_nip, "street": settings.seller_street,
            "postal_code": settings.seller_postal_code, "city": settings.seller_city,
            "bank_account": settings.seller_bank_account}


def invoice_event(invoice: Invoice, **extra: Any) -> dict[str, Any]:
    return {"invoice_id": invoice.id, "number": invoice.number, "kind": invoice.kind, "purpose": invoice.purpose,
            "contract_id": invoice.contract_id, "customer_id": invoice.customer_id, "period": invoice.period,
            "net_total": f"{invoice.net_total:.2f}", "vat_total": f"{invoice.vat_total:.2f}",
            "gross_total": f"{invoice.gross_total:.2f}", "amount_paid": f"{invoice.amount_paid:.2f}",
            "currency": "PLN", "due_date": invoice.due_date.isoformat(), "status": invoice.status,
            "email": invoice.buyer.get("email"), **extra}


def sold_by(principal: Principal) -> str | None:
    """Whose sales a caller is limited to: a shop sees what it sold; customers (limited by
    their customer id instead), finance (`billing:admin`) and services are not limited by it."""
    if principal.customer_id is not None or principal.has(BILLING_ADMIN) or "service" in principal.roles:
        return None
    return principal.sub


def may_see(principal: Principal, invoice: Invoice) -> bool:
    """Customers see their own invoices; finance and services see all; the shop what it sold."""
    seller = sold_by(principal)
    return principal.may_see(invoice.customer_id) and (seller is None or invoice.created_by == seller)


@dataclass(frozen=True)
class Issue:
    purpose: str  # first | period | upgrade
    items: Sequence[LineIn]
    supply_date: date
    due_date: date
    period: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    origin_key: str | None = None


class InvoicingService:
    def __init__(self, uow: UnitOfWork, settings: BillingSettings) -> None:
        self.uow, self.settings = uow, settings
        self.session = uow.session

    def today(self) -> date:
        return local_date(self.uow.clock.now())

    # ---- reading -----------------------------------------------------------------------------

    async def visible(self, invoice_id: str, principal: Principal, *, for_update: bool = False) -> Invoice:
        """The invoice, or 404 when it does not exist or the principal may not see it (no existence leak)."""
        return found(await repo.invoice(self.session, invoice_id, for_update=for_update),
                     InvoiceNotFound(f"invoice {invoice_id!r} does not exist"), visible=lambda i: may_see(principal, i))

    async def listing(self, principal: Principal, *, customer_id: str | None, contract_id: str | None,
                      after: str | None, limit: int) -> KeysetPage[Invoice]:
        """Invoices and credit notes the principal may see, newest first."""
        return await repo.invoices(self.session, customer_id=principal.customer_filter(customer_id),
                                   contract_id=contract_id, created_by=sold_by(principal), after=after, limit=limit)

    async def lines(self, invoice: Invoice) -> Sequence[InvoiceLine]:
        return await repo.lines(self.session, invoice.id)

    async def document(self, invoice_id: str, principal: Principal) -> tuple[Invoice, InvoiceDocument]:
        """A visible invoice as the document its PDF and KSeF XML render (with the original a
        credit note corrects, and when it was last paid)."""
        invoice = await self.visible(invoice_id, principal)
        original = await repo.invoice(self.session, invoice.corrects_id) if invoice.corrects_id else None
        return invoice, document_of(invoice, await repo.lines(self.session, invoice.id), original,
                                    await repo.last_payment_at(self.session, invoice.id))

    async def _number(self, series: str, on: date) -> str:
        n = await repo.take_number(self.session, series, f"{on:%Y-%m}")
        return f"{series}/{on:%Y}/{on:%m}/{n:06d}"  # FV/2026/11/000123 (R-B9)

    async def issue(self, account: BillingAccount, spec: Issue) -> Invoice:
        amounts = compute(spec.items)
        today = self.today()
        invoice = Invoice(
            id=new_id("inv"), number=await self._number(self.settings.invoice_series, today), kind=InvoiceKind.INVOICE,
            purpose=spec.purpose, origin_key=spec.origin_key, contract_id=account.contract_id,
            customer_id=account.customer_id, created_by=account.created_by, period=spec.period, issue_date=today,
            supply_date=spec.supply_date, period_start=spec.period_start, period_end=spec.period_end,
            due_date=spec.due_date, seller=seller(self.settings), buyer=account.buyer,
            payment_method=account.payment_method, net_total=amounts.net, vat_total=amounts.vat,
            gross_total=amounts.gross, per_rate=per_rate_rows(amounts.per_rate), status=InvoiceStatus.OPEN,
            created_at=self.uow.clock.now())
        await self._write(invoice, amounts.lines, None)
        self.uow.events.emit("invoice.issued", invoice_event(invoice), subject=invoice.id)
        return invoice

    async def _write(self, invoice: Invoice, lines: Sequence[Any], original: Invoice | None) -> None:
        rows = [InvoiceLine(invoice_id=invoice.id, position=line.position, name=line.name, quantity=line.quantity,
                            unit=line.unit, unit_net=line.unit_net, net=line.net, vat_rate=line.vat_rate,
                            vat=line.vat, gross=line.gross, kind=line.kind, source_id=line.source_id,
                            plan_id=line.plan_id) for line in lines]
        exportable(document_of(invoice, rows, original))
        self.session.add(invoice)
        await self.session.flush()
        self.session.add_all(rows)
        await self.session.flush()

    async def credit(self, invoice_id: str, reason: str, positions: dict[int, Decimal] | None,
                     principal: Principal) -> Invoice:
        """A correcting invoice (credit note) against an issued invoice: the chosen lines' net
        amounts back (all that is left, when none are chosen); never more than the original's
        gross minus earlier credit notes (R-B10)."""
        original = await self.visible(invoice_id, principal, for_update=True)
        if original.kind != InvoiceKind.INVOICE:
            raise NotCreditable(f"{original.number} is a credit note; correct the original invoice instead")
        already = await repo.credited_total(self.session, original.id)
        left = original.gross_total - already
        if positions is None and already:
            raise CreditTooLarge(f"{original.number} is already partly credited ({already:.2f}); name the lines "
                                 "and the net amounts to credit")
        items = []
        for line in await repo.lines(self.session, original.id):
            if positions is None:
                net = line.net
            elif line.position in positions:
                net = positions.pop(line.position)
                if net > line.net:
                    raise CreditTooLarge(f"line {line.position} is {line.net:.2f} net; {net:.2f} cannot be credited")
            else:
                continue
            items.append(LineIn(f"Korekta: {line.name}", Decimal(1), line.unit, -net, line.vat_rate, "correction",
                                str(line.position), line.plan_id))
        if positions:
            raise CreditTooLarge(f"{original.number} has no line {', '.join(map(str, sorted(positions)))}")
        return await self._note(original, items, reason, left)

    async def credit_fee(self, original: Invoice, net: Decimal, name: str, price_id: str, plan_id: str,
                         reason: str) -> Invoice:
        """A credit note giving back part of a period's monthly fee when the fee owed for it fell
        (the plan owed changed after the period was billed): a `subscription` line, so the period's
        billed fee counts it (finance's own credit notes are `correction` lines and do not)."""
        original = await repo.invoice(self.session, original.id, for_update=True) or original
        left = original.gross_total - await repo.credited_total(self.session, original.id)
        fee_line = next(line for line in await repo.lines(self.session, original.id) if line.kind == "subscription")
        return await self._note(original, [LineIn(name, Decimal(1), fee_line.unit, -net, fee_line.vat_rate,
                                                  "subscription", price_id, plan_id)], reason, left)

    async def _note(self, original: Invoice, items: Sequence[LineIn], reason: str, left: Decimal) -> Invoice:
        amounts = compute(items)
        if not items or -amounts.gross > left or left <= 0:
            raise CreditTooLarge(f"{original.number}: {left:.2f} gross is left to credit; this note would credit "
                                 f"{-amounts.gross:.2f}")
        today = self.today()
        note = Invoice(
            id=new_id("inv"), number=await self._number(self.settings.correction_series, today),
            kind=InvoiceKind.CORRECTION,
            purpose=InvoicePurpose.CORRECTION, contract_id=original.contract_id, customer_id=original.customer_id,
            created_by=original.created_by, period=original.period, issue_date=today,
            supply_date=original.supply_date, period_start=original.period_start, period_end=original.period_end,
            due_date=today + timedelta(days=self.settings.payment_terms_days), seller=original.seller,
            buyer=original.buyer, payment_method=original.payment_method, net_total=amounts.net,
            vat_total=amounts.vat, gross_total=amounts.gross, per_rate=per_rate_rows(amounts.per_rate),
            status=InvoiceStatus.ISSUED, corrects_id=original.id, correction_reason=reason,
            created_at=self.uow.clock.now())
        await self._write(note, amounts.lines, original)
        if -amounts.gross >= left and original.status != InvoiceStatus.PAID:
            original.status = InvoiceStatus.CREDITED  # nothing is owed on it any more
        self.uow.events.emit("invoice.credited", invoice_event(note, corrects=original.number,
                                                               reason=reason), subject=note.id)
        return note


def exportable(doc: InvoiceDocument) -> None:
    """Raise `InvoiceNotExportable` unless the document renders as FA(3) XML valid against the XSD
    (R-B3, R-B10): checked before an invoice is issued, inside its transaction, so nothing that
    KSeF would refuse for ever gets a number. (The PDF is not rendered here: a tenth of a second
    each; every text the request models allow renders, which the property tests check.)"""
    from services.billing.ksef import render_fa3  # ksef-client + lxml + the XSD: loaded at the first invoice

    try:
        render_fa3(doc)
    except ValueError as exc:  # the schema's complaints, or text lxml cannot carry
        raise InvoiceNotExportable(f"{doc.number}: {exc}"[:500]) from exc


def per_rate_rows(per_rate: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"vat_rate": r.vat_rate, "net": f"{r.net:.2f}", "vat": f"{r.vat:.2f}", "gross": f"{r.gross:.2f}"}
            for r in per_rate]
