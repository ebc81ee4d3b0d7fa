"""An invoice's PDF, downloaded through the API, says where its payment stands: still due, paid
(when, how much, nothing left), or paid in part (what came in, what is left); a credit note says
what is refunded. The invoice itself is never edited (R-B10): only what the PDF reports of its
payments follows them. Real services: entitlements, billing and the payment sandbox."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from pypdf import PdfReader

from services.billing.pdf import NBSP
from shared.clock import local_date
from tests.billing.conftest import CARD_OK, IBAN_PARTIAL


async def pdf_text(bw, invoice_id: str) -> str:  # type: ignore[no-untyped-def]
    response = await bw.billing().get(f"/v1/invoices/{invoice_id}/pdf")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf"), response.text
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join("\n".join(page.extract_text() for page in reader.pages).replace(NBSP, " ").split())


def day(instant: str) -> str:
    return local_date(datetime.fromisoformat(instant)).isoformat()


def zl(value: str | Decimal) -> str:
    return f"{Decimal(value):,.2f}".replace(",", " ").replace(".", ",")


async def test_an_unpaid_invoice_asks_for_the_whole_amount_R_B10(bw):
    contract = await bw.buy(None)  # no payment instrument yet: nothing is charged
    invoice = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "first", "the first invoice")
    assert (invoice["status"], invoice["amount_paid"]) == ("open", "0.00")
    text = await pdf_text(bw, invoice["id"])
    assert f"Do zapłaty: {zl(invoice['gross_total'])} PLN" in text
    assert "Zapłacono" not in text


async def test_a_paid_invoice_says_when_it_was_paid_and_that_nothing_is_due_R_B10(bw):
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    invoice = (await bw.invoices(contract["id"]))[0]
    assert invoice["status"] == "paid" and invoice["paid_at"]
    text = await pdf_text(bw, invoice["id"])
    assert f"Zapłacono dnia {day(invoice['paid_at'])}: {zl(invoice['gross_total'])} PLN" in text
    assert "Do zapłaty: 0,00 PLN" in text
    assert f"Do zapłaty: {zl(invoice['gross_total'])}" not in text
    assert "Faktura VAT" in text and invoice["number"] in text  # still the invoice as issued


async def test_a_partly_paid_invoice_shows_what_was_paid_and_what_is_left_then_paid_R_B5_R_B10(bw):
    contract = await bw.buy(IBAN_PARTIAL, method="direct_debit")  # the sandbox collects half
    invoice = await bw.invoice_where(contract["id"], lambda i: i["status"] == "partially_paid", "a partial payment")
    gross, paid = Decimal(invoice["gross_total"]), Decimal(invoice["amount_paid"])
    assert 0 < paid < gross
    first_day = local_date(bw.clock.now()).isoformat()
    text = await pdf_text(bw, invoice["id"])
    assert f"Zapłacono częściowo (ostatnia wpłata {first_day}): {zl(paid)} PLN" in text
    assert f"Pozostało do zapłaty: {zl(gross - paid)} PLN" in text
    assert f"Do zapłaty: {zl(gross)}" not in text

    bw.clock.advance(timedelta(days=2))  # the rest arrives by bank transfer two days later
    rest = await bw.billing().post(f"/v1/invoices/{invoice['id']}/payments",
                                   json={"amount": f"{gross - paid:.2f}", "reference": "przelew 2026/11/77"})
    assert rest.status_code == 201, rest.text
    settled = (await bw.billing().get(f"/v1/invoices/{invoice['id']}")).json()
    assert (settled["status"], settled["amount_paid"]) == ("paid", f"{gross:.2f}")
    text = await pdf_text(bw, invoice["id"])
    assert f"Zapłacono dnia {day(settled['paid_at'])}: {zl(gross)} PLN" in text
    assert day(settled["paid_at"]) != first_day  # the day it was paid in full
    assert "Do zapłaty: 0,00 PLN" in text and "Pozostało" not in text


async def test_a_credit_note_still_says_what_is_refunded_R_B10(bw):
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    invoice = (await bw.invoices(contract["id"]))[0]
    note = await bw.billing("admin").post(
        f"/v1/invoices/{invoice['id']}/credit-notes", headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"reason": "price mistake", "lines": [{"position": 1, "net": "10.00"}]})
    assert note.status_code == 201, note.text
    text = await pdf_text(bw, note.json()["id"])
    assert "Faktura korygująca" in text and "Do zwrotu: 12,30 PLN" in text
    assert "Zapłacono" not in text and "Do zapłaty" not in text
