"""KSeF e-invoice XML: an `InvoiceDocument` as a structured FA(3) invoice (RodzajFaktury VAT, or KOR
for a correcting invoice), checked offline against the official FA(3) XSD before it leaves here.

The document is mapped onto the FA(3) model of the `ksef-client` SDK (`ksef_client.documents.fa3`),
which knows the schema's element order, the Adnotacje defaults and the correction markers. Three
things the SDK decides by itself are then written over, because the document is the authority:

- `Naglowek/DataWytworzeniaFa`: the SDK stamps "now". We write the issue date at 00:00 UTC, so one
  document always renders to the same bytes (the XML is stored and hashed; KSeF records its own
  acceptance time).
- `Naglowek/SystemInfo`: the caller's `system_info`.
- `P_13_x`/`P_14_x`/`P_15`: the SDK sums the lines; renderers print money and never compute it, and
  the document's per-rate totals (R-B12) may round VAT on the rate's sum rather than per line.

The SDK's business checks are not run: they reject the negative lines of a correction that states
differences. The FA(3) XSD shipped in the SDK is the gate instead: `render_fa3` ends with
`validate_fa3`, which never touches the network.

Sending to KSeF goes through a `KsefSubmitter`; `DisabledSubmitter`, the default, sends nothing.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from ksef_client.documents.fa3 import (
    FA3_SCHEMA_FILE, Address, BankAccount, Contact, CorrectionReference, FA3Invoice, FA3InvoiceKind,
    Footer, InvoiceLine, InvoiceParty, PaymentMethod, PaymentTerms, TaxCategory, invoice_to_xml,
)
from lxml import etree

from services.billing.document import DocumentLine, InvoiceDocument, Party

_SCHEMAS = resources.files("ksef_client.documents.fa3.schemas")
# TFormaPlatnosci has no code for direct debit, so it is stated as "another form" with a description.
_DIRECT_DEBIT = "Polecenie zapłaty"
# TTypKorekty 2: "korekta skutkująca w dacie wystawienia faktury korygującej" — where a reduction of
# the taxable amount (a credit note) is recognised.
_TAKES_EFFECT_ON_CORRECTION_DATE = "2"


class KsefSchemaError(ValueError):
    """The XML is not a valid FA(3) document; the message lists the schema's complaints."""


def render_fa3(doc: InvoiceDocument, *, system_info: str = "supportctl") -> bytes:
    """The document as UTF-8 FA(3) XML, valid against the XSD (else `KsefSchemaError`)."""
    if (doc.kind == "correction") != (doc.corrected is not None):
        raise ValueError(f"{doc.number}: a correcting invoice, and only one, names the invoice it corrects "
                         "(R-B10)")
    try:
        root = etree.fromstring(invoice_to_xml(_invoice(doc), validate=False, facets=False))
    except etree.XMLSyntaxError as exc:  # text XML 1.0 cannot carry (a control character, U+FFFE …)
        raise KsefSchemaError(f"not well-formed XML: {exc}") from exc
    ns = {"fa": etree.QName(root).namespace}
    root.find("fa:Naglowek/fa:DataWytworzeniaFa", ns).text = f"{doc.issue_date.isoformat()}T00:00:00Z"
    root.find("fa:Naglowek/fa:SystemInfo", ns).text = system_info
    fa = root.find("fa:Fa", ns)
    for total in doc.totals:
        net_tag, vat_tag, _ = TaxCategory.from_vat_rate(total.vat_rate).summary_fields
        amounts = [(net_tag, total.net)] + ([(vat_tag, total.vat)] if vat_tag else [])
        for tag, amount in amounts:
            element = fa.find(f"fa:{tag}", ns)
            if element is None:
                raise ValueError(f"{doc.number}: a total at {total.vat_rate} % but no line at that rate")
            element.text = f"{amount:.2f}"
    fa.find("fa:P_15", ns).text = f"{doc.gross_total:.2f}"
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_fa3(xml)
    return xml


def validate_fa3(xml: bytes) -> None:
    """Raise `KsefSchemaError` unless `xml` is well-formed and valid against the FA(3) XSD."""
    try:
        document = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise KsefSchemaError(f"not well-formed XML: {exc}") from exc
    try:
        _schema().assertValid(document)
    except etree.DocumentInvalid as exc:
        raise KsefSchemaError("; ".join(f"line {e.line}: {e.message}" for e in exc.error_log)) from exc


class KsefSubmitter(Protocol):
    async def submit(self, xml: bytes, invoice_number: str) -> str | None:
        """Send a rendered, valid FA(3) document; the KSeF number it was given, or None if not sent."""
        ...


class DisabledSubmitter:
    """The default: submission to KSeF is off and nothing leaves the process."""

    async def submit(self, xml: bytes, invoice_number: str) -> str | None:
        return None


def _invoice(doc: InvoiceDocument) -> FA3Invoice:
    corrected = doc.corrected
    period = doc.period_start is not None and doc.period_end is not None
    return FA3Invoice(
        invoice_number=doc.number,
        issue_date=doc.issue_date,
        issue_place=doc.place_of_issue,
        seller=_party(doc.seller),
        buyer=_party(doc.buyer),
        lines=tuple(_line(line) for line in doc.lines),
        kind=FA3InvoiceKind.CORRECTION if doc.kind == "correction" else FA3InvoiceKind.BASIC,
        currency=doc.currency,
        # FA(3) takes either the date of supply (P_6) or the period invoiced (OkresFa), not both.
        sale_date=None if period else doc.supply_date,
        period_from=doc.period_start if period else None,
        period_to=doc.period_end if period else None,
        payment_terms=PaymentTerms(
            due_dates=(doc.payment_due,),
            method=PaymentMethod.CARD.value if doc.payment_method == "card" else None,
            other_method_description=_DIRECT_DEBIT if doc.payment_method == "direct_debit" else None,
            bank_accounts=(BankAccount(doc.seller_bank_account),) if doc.seller_bank_account else (),
        ),
        footer=Footer(infos=("\n".join(doc.notes),)) if doc.notes else None,
        correction_reason=corrected.reason if corrected else None,
        # Only a reduction has a type that follows from the law alone (art. 29a ust. 13); for an
        # increase it depends on its cause, which the document does not carry, and the field is optional.
        correction_type=_TAKES_EFFECT_ON_CORRECTION_DATE if corrected and doc.net_total < 0 else None,
        corrected_invoices=(
            (CorrectionReference(corrected.number, corrected.issue_date, corrected.ksef_number),)
            if corrected else ()
        ),
    )


def _party(party: Party) -> InvoiceParty:
    return InvoiceParty.polish_company(
        nip=party.nip,
        name=party.name,
        address=Address(line1=party.street, line2=f"{party.postal_code} {party.city}",
                        country_code=party.country),
        contacts=(Contact(email=party.email),) if party.email else (),
    )


def _line(line: DocumentLine) -> InvoiceLine:
    return InvoiceLine(
        description=line.name,
        quantity=line.quantity,
        unit=line.unit,
        unit_net_price=line.unit_net,
        net_amount=line.net,
        vat_amount=line.vat,
        tax=TaxCategory.from_vat_rate(line.vat_rate),
    )


@cache
def _schema() -> etree.XMLSchema:
    """The SDK's copy of the FA(3) XSD. Its imports and includes name crd.gov.pl URLs; they resolve
    to the copies shipped beside it, and any other name is refused rather than fetched."""
    parser = etree.XMLParser()
    parser.resolvers.add(_BundledSchemas())
    return etree.XMLSchema(etree.fromstring((_SCHEMAS / FA3_SCHEMA_FILE).read_bytes(), parser))


class _BundledSchemas(etree.Resolver):
    def resolve(self, system_url: str, public_id: str | None, context: object) -> object:
        bundled = _SCHEMAS / Path(system_url).name
        if not bundled.is_file():
            raise KsefSchemaError(f"{system_url} is not among the XSD files ksef-client ships")
        return self.resolve_string(bundled.read_bytes(), context)
