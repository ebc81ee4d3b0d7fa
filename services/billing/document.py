"""An issued invoice as a document: everything R-B10 requires on a Polish VAT invoice, in one
immutable value that the renderers (PDF, KSeF FA(3) XML) take. No I/O: `document_of` builds it
from the billing tables' rows; renderers never compute money, they only print it.

Amounts are exact `Decimal` złoty with two places (R-B9); for a correcting invoice (credit
note) the lines and totals are the *differences* (negative for a refund), and `corrected` names
the original (R-B10).

The invoice never changes once issued; what has been paid against it does. `amount_paid` and
`paid_on` say where the payment stands when the document is made, so that a paid invoice's PDF
does not ask for the money again. The KSeF XML is the invoice as issued and ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Sequence

from services.billing.models import Invoice, InvoiceLine
from services.billing.statuses import InvoiceKind
from shared.clock import local_date


@dataclass(frozen=True)
class Party:
    name: str
    nip: str  # ten digits, no separators
    street: str  # "ul. Prosta 1"
    postal_code: str  # "00-001"
    city: str
    country: str = "PL"
    email: str | None = None


@dataclass(frozen=True)
class DocumentLine:
    position: int  # 1, 2, …
    name: str
    quantity: Decimal
    unit: str  # "mies." (a month of support), "min" (remote-help minutes), "szt." (a session)
    unit_net: Decimal
    net: Decimal
    vat_rate: int  # percent: 23
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class RateTotal:
    vat_rate: int
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class CorrectedInvoice:
    number: str
    issue_date: date
    ksef_number: str | None
    reason: str


@dataclass(frozen=True)
class InvoiceDocument:
    number: str  # FV/2026/11/000123 (corrections: KOR/2026/11/000004)
    kind: Literal["invoice", "correction"]
    issue_date: date
    supply_date: date  # date of supply: the first day of the period served
    period_start: date | None
    period_end: date | None
    place_of_issue: str
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    totals: tuple[RateTotal, ...]  # per VAT rate (R-B12)
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    payment_due: date
    payment_method: Literal["card", "direct_debit"]
    seller_bank_account: str | None = None  # IBAN, PL + 26 digits
    currency: str = "PLN"
    corrected: CorrectedInvoice | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    amount_paid: Decimal = Decimal("0.00")  # received so far (invoices only; ≥ 0)
    paid_on: date | None = None  # the day (Warsaw) of the latest payment: the full one, once paid


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
