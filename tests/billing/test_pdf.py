"""services/billing/pdf.py: the invoice PDF states what R-B10 requires, in Polish, exactly.

Plain tests, no database: each builds an `InvoiceDocument` and reads the PDF's text back with
pypdf. With ARTIFACTS_DIR set, the R-B10 test also leaves its PDF there for a person to look at.
"""

from __future__ import annotations

import dataclasses
import io
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from services.billing.document import CorrectedInvoice, DocumentLine, InvoiceDocument, Party, RateTotal
from services.billing.pdf import NBSP, amount, quantity, render_pdf

D = Decimal

SELLER = Party(name="Pomoc Techniczna Sp. z o.o.", nip="5260250274", street="ul. Źródlana 12/4",
               postal_code="90-001", city="Łódź", email="faktury@pomoc.example.pl")
BUYER = Party(name="Zakład Usług Informatycznych „Żuraw” Grzegorz Wąsowicz-Ślęczkowski",
              nip="7251801126", street="ul. Piotrkowska 104", postal_code="90-926", city="Łódź")


def line(position: int, name: str, net: str, vat: str, gross: str, *, quantity: str = "1",
         unit: str = "mies.", unit_net: str | None = None) -> DocumentLine:
    return DocumentLine(position=position, name=name, quantity=D(quantity), unit=unit,
                        unit_net=D(unit_net or net), net=D(net), vat_rate=23, vat=D(vat), gross=D(gross))


def invoice(**changes: object) -> InvoiceDocument:
    """Net 33.00, VAT 7.59, gross 40.59 at 23 % (R-B9, R-B12)."""
    doc = InvoiceDocument(
        number="FV/2026/11/000123", kind="invoice",
        issue_date=date(2026, 11, 21), supply_date=date(2026, 11, 1),
        period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), place_of_issue="Łódź",
        seller=SELLER, buyer=BUYER,
        lines=(
            line(1, "Wsparcie techniczne — usługa", "25.00", "5.75", "30.75"),
            line(2, "Zdalna pomoc: minuty ponad pakiet, zgłoszenia z listopada 2026 r. "
                    "(priorytet wysoki, obsługa poza godzinami pracy, weekendy i święta)",
                 "8.00", "1.84", "9.84", quantity="10", unit="min", unit_net="0.80"),
        ),
        totals=(RateTotal(vat_rate=23, net=D("33.00"), vat=D("7.59"), gross=D("40.59")),),
        net_total=D("33.00"), vat_total=D("7.59"), gross_total=D("40.59"),
        payment_due=date(2026, 12, 5), payment_method="direct_debit",
        seller_bank_account="PL61109010140000071219812874",
        notes=("Mechanizm podzielonej płatności nie dotyczy.", "Dziękujemy — zespół wsparcia."),
    )
    return dataclasses.replace(doc, **changes)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace(NBSP, " ").split()), len(reader.pages)  # wrapped cells join up


def test_pdf_states_what_R_B10_requires() -> None:
    doc = invoice()
    pdf = render_pdf(doc)
    if os.environ.get("ARTIFACTS_DIR"):
        folder = Path(os.environ["ARTIFACTS_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "invoice_sample.pdf").write_bytes(pdf)

    assert pdf.startswith(b"%PDF-")
    text, pages = text_of(pdf)
    assert pages == 1
    for expected in ("Faktura VAT", "FV/2026/11/000123", "5260250274", "7251801126",
                     "Data wystawienia", "2026-11-21", "Miejsce wystawienia", "Łódź",
                     "Data dostawy / wykonania usługi", "2026-11-01", "2026-11-30",
                     "Sprzedawca", "Nabywca", "Pomoc Techniczna Sp. z o.o.", "ul. Źródlana 12/4",
                     "Wsparcie techniczne — usługa", "Zdalna pomoc", "święta",
                     "Lp.", "Ilość", "J.m.", "Cena jedn. netto", "Wartość netto", "Stawka VAT",
                     "Kwota VAT", "Wartość brutto", "23%", "Razem",
                     "33,00", "7,59", "40,59", "Do zapłaty: 40,59 PLN",
                     "Sposób płatności", "polecenie zapłaty", "Termin płatności", "2026-12-05",
                     "PL61 1090 1014 0000 0712 1981 2874", "Mechanizm podzielonej płatności nie dotyczy."):
        assert expected in text, expected
    assert "0,80" in text  # the unit price, printed as given


def test_pdf_long_names_wrap_rather_than_run_over_R_B10() -> None:
    reader = PdfReader(io.BytesIO(render_pdf(invoice())))
    rows = reader.pages[0].extract_text().splitlines()
    long_name = invoice().lines[1].name
    assert long_name in " ".join(" ".join(rows).split()), "the whole name is there"
    assert not any(long_name in row for row in rows), "a 120-character name cannot fit on one row"


def test_pdf_correction_names_the_original_R_B10() -> None:
    corrected = CorrectedInvoice(number="FV/2026/11/000123", issue_date=date(2026, 11, 21),
                                 ksef_number="5260250274-20261121-0A1B2C3D4E5F-6A",
                                 reason="Zwrot za niewykorzystane minuty (rezygnacja z usługi)")
    doc = invoice(
        number="KOR/2026/11/000004", kind="correction", issue_date=date(2026, 11, 28),
        corrected=corrected, payment_method="card", seller_bank_account=None, notes=(),
        lines=(line(1, "Wsparcie techniczne — usługa", "-25.00", "-5.75", "-30.75"),),
        totals=(RateTotal(vat_rate=23, net=D("-25.00"), vat=D("-5.75"), gross=D("-30.75")),),
        net_total=D("-25.00"), vat_total=D("-5.75"), gross_total=D("-30.75"))
    text, _ = text_of(render_pdf(doc))
    for expected in ("Faktura korygująca", "KOR/2026/11/000004", "korygująca",
                     "do faktury FV/2026/11/000123 z 2026-11-21",
                     "5260250274-20261121-0A1B2C3D4E5F-6A", "Zwrot za niewykorzystane minuty",
                     "-25,00", "-5,75", "-30,75", "Do zwrotu: 30,75 PLN", "karta płatnicza"):
        assert expected in text, expected
    assert "Rachunek bankowy" not in text


def test_pdf_same_document_same_bytes_R_B10() -> None:
    assert render_pdf(invoice()) == render_pdf(invoice())
    assert render_pdf(invoice()) != render_pdf(invoice(number="FV/2026/11/000124"))


def test_pdf_forty_lines_paginate_and_keep_the_totals_R_B10_R_B12() -> None:
    lines = tuple(line(i, f"Wsparcie techniczne — usługa, stanowisko nr {i}", "25.00", "5.75", "30.75")
                  for i in range(1, 41))
    doc = invoice(lines=lines,
                  totals=(RateTotal(vat_rate=23, net=D("1000.00"), vat=D("230.00"), gross=D("1230.00")),),
                  net_total=D("1000.00"), vat_total=D("230.00"), gross_total=D("1230.00"))
    text, pages = text_of(render_pdf(doc))
    assert pages > 1
    assert "stanowisko nr 1" in text and "stanowisko nr 40" in text
    assert "Do zapłaty: 1 230,00 PLN" in text
    assert "1 000,00" in text and "230,00" in text
    assert f"Strona {pages} z {pages}" in text


def test_amounts_print_polish_style_and_never_round_R_B9() -> None:
    assert amount(D("1234.56")) == f"1{NBSP}234,56"
    assert amount(D("-1234567.5")) == f"-1{NBSP}234{NBSP}567,50"
    assert amount(D("0")) == "0,00"
    assert amount(D("0.8333"), unit_price=True) == "0,8333"
    with pytest.raises(ValueError):
        amount(D("1.005"))
    assert quantity(D("1")) == "1"
    assert quantity(D("1.50")) == "1,5"
    assert quantity(D("1200")) == f"1{NBSP}200"
    assert quantity(D("-10")) == "-10"


def test_pdf_says_where_the_payment_stands_R_B10() -> None:
    due, _ = text_of(render_pdf(invoice()))
    assert "Do zapłaty: 40,59 PLN" in due and "Zapłacono" not in due

    paid, _ = text_of(render_pdf(invoice(amount_paid=D("40.59"), paid_on=date(2026, 11, 24))))
    assert "Zapłacono dnia 2026-11-24: 40,59 PLN" in paid and "Do zapłaty: 0,00 PLN" in paid
    assert "Do zapłaty: 40,59" not in paid and "Nadpłata" not in paid

    part, _ = text_of(render_pdf(invoice(amount_paid=D("20.00"), paid_on=date(2026, 11, 24))))
    assert "Zapłacono częściowo (ostatnia wpłata 2026-11-24): 20,00 PLN" in part
    assert "Pozostało do zapłaty: 20,59 PLN" in part

    over, _ = text_of(render_pdf(invoice(amount_paid=D("50.00"), paid_on=date(2026, 11, 24))))
    assert "Zapłacono dnia 2026-11-24: 50,00 PLN" in over and "Nadpłata: 9,41 PLN" in over
    assert "Do zapłaty: 0,00 PLN" in over
