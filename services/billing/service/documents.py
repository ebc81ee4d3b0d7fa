"""An issued invoice as the document its renderers take (services/billing/document.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Sequence

from services.billing.document import CorrectedInvoice, DocumentLine, InvoiceDocument, Party, RateTotal
from services.billing.models import Invoice, InvoiceLine
from services.billing.statuses import InvoiceKind
from shared.clock import local_date


def _party(data: dict[str, Any]) -> Party:
    return Party(name=data["name"], nip=data["nip"], street=data.get("street") or "", postal_code=data.get(
        "postal_code") or "", city=data.get("city") or "", email=data.get("email"))


def document_of(invoice: Invoice, lines: Sequence[InvoiceLine], original: Invoice | None = None,
                last_payment_at: datetime | None = None) -> InvoiceDocument:
    """`last_payment_at`: when the latest payment against the invoice arrived (its PDF says what
    has been paid, and when; a credit note is never paid against)."""
    paid = invoice.amount_paid if invoice.kind == InvoiceKind.INVOICE else Decimal("0.00")
    paid_at = (invoice.paid_at or last_payment_at) if paid > 0 else None
    corrected = None
    if original is not None:
        corrected = CorrectedInvoice(number=original.number, issue_date=original.issue_date,
                                     ksef_number=original.ksef_number, reason=invoice.correction_reason or "")
    return InvoiceDocument(
        number=invoice.number, kind=invoice.kind,  # type: ignore[arg-type]
        issue_date=invoice.issue_date, supply_date=invoice.supply_date, period_start=invoice.period_start,
        period_end=invoice.period_end, place_of_issue=invoice.seller.get("city") or "", seller=_party(invoice.seller),
        buyer=_party(invoice.buyer),
        lines=tuple(DocumentLine(position=l.position, name=l.name, quantity=l.quantity, unit=l.unit,
                                 unit_net=l.unit_net, net=l.net, vat_rate=l.vat_rate, vat=l.vat, gross=l.gross)
                    for l in lines),
        totals=tuple(RateTotal(vat_rate=int(r["vat_rate"]), net=Decimal(r["net"]), vat=Decimal(r["vat"]),
                               gross=Decimal(r["gross"])) for r in invoice.per_rate),
        net_total=invoice.net_total, vat_total=invoice.vat_total, gross_total=invoice.gross_total,
        payment_due=invoice.due_date, payment_method=invoice.payment_method,  # type: ignore[arg-type]
        seller_bank_account=invoice.seller.get("bank_account"), corrected=corrected,
        amount_paid=paid, paid_on=local_date(paid_at) if paid_at else None)
