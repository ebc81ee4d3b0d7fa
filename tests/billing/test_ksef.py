"""services/billing/ksef.py: an issued invoice or correcting invoice as FA(3) XML that the official
XSD (shipped in ksef-client) accepts, printing the document's amounts as they are (R-B9, R-B10, R-B12).
Pure functions: no database, no network."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from services.billing.document import CorrectedInvoice, DocumentLine, InvoiceDocument, Party, RateTotal
from services.billing.ksef import DisabledSubmitter, KsefSchemaError, render_fa3, validate_fa3

NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
KSEF_NUMBER = "1234563218-20261121-0123456789AB-CD"
REASON = "Rezygnacja z planu — zwrot za niewykorzystany okres"

SELLER = Party(name="Pomoc IT Sp. z o.o.", nip="1234563218", street="ul. Prosta 1", postal_code="00-001",
               city="Warszawa", email="faktury@pomoc-it.example")
BUYER = Party(name="Biuro Rachunkowe Kowalski", nip="5260250274", street="ul. Długa 7", postal_code="30-001",
              city="Kraków")
SUPPORT = DocumentLine(position=1, name="Wsparcie techniczne Office 365 — Standard, 11/2026",
                       quantity=Decimal("1"), unit="mies.", unit_net=Decimal("33.00"), net=Decimal("33.00"),
                       vat_rate=23, vat=Decimal("7.59"), gross=Decimal("40.59"))  # 99.00 × 10/30
OVERAGE = DocumentLine(position=2, name="Pomoc zdalna ponad limit planu, 10/2026", quantity=Decimal("15"),
                       unit="min", unit_net=Decimal("2.00"), net=Decimal("30.00"), vat_rate=23,
                       vat=Decimal("6.90"), gross=Decimal("36.90"))


def invoice(**changes: object) -> InvoiceDocument:
    doc = InvoiceDocument(
        number="FV/2026/11/000123", kind="invoice", issue_date=date(2026, 11, 21),
        supply_date=date(2026, 11, 21), period_start=date(2026, 11, 21), period_end=date(2026, 11, 30),
        place_of_issue="Warszawa", seller=SELLER, buyer=BUYER, lines=(SUPPORT, OVERAGE),
        totals=(RateTotal(23, Decimal("63.00"), Decimal("14.49"), Decimal("77.49")),),
        net_total=Decimal("63.00"), vat_total=Decimal("14.49"), gross_total=Decimal("77.49"),
        payment_due=date(2026, 12, 5), payment_method="card",
        seller_bank_account="PL61109010140000071219812874",
    )
    return replace(doc, **changes)


def correction(ksef_number: str | None) -> InvoiceDocument:
    refund = replace(SUPPORT, quantity=Decimal("-1"), net=Decimal("-33.00"), vat=Decimal("-7.59"),
                     gross=Decimal("-40.59"))
    return invoice(
        number="KOR/2026/11/000004", kind="correction", issue_date=date(2026, 11, 25), lines=(refund,),
        totals=(RateTotal(23, Decimal("-33.00"), Decimal("-7.59"), Decimal("-40.59")),),
        net_total=Decimal("-33.00"), vat_total=Decimal("-7.59"), gross_total=Decimal("-40.59"),
        corrected=CorrectedInvoice(number="FV/2026/11/000123", issue_date=date(2026, 11, 21),
                                   ksef_number=ksef_number, reason=REASON),
    )


def text(xml: bytes, path: str) -> list[str]:
    return [e.text for e in etree.fromstring(xml).findall(path, NS)]


def test_invoice_states_what_R_B10_requires() -> None:
    xml = render_fa3(invoice())
    validate_fa3(xml)
    assert text(xml, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP") == ["1234563218"]
    assert text(xml, "fa:Podmiot1/fa:Adres/fa:AdresL1") == ["ul. Prosta 1"]
    assert text(xml, "fa:Podmiot1/fa:Adres/fa:AdresL2") == ["00-001 Warszawa"]
    assert text(xml, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP") == ["5260250274"]
    assert text(xml, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:Nazwa") == ["Biuro Rachunkowe Kowalski"]
    assert text(xml, "fa:Fa/fa:P_1") == ["2026-11-21"]
    assert text(xml, "fa:Fa/fa:P_1M") == ["Warszawa"]
    assert text(xml, "fa:Fa/fa:P_2") == ["FV/2026/11/000123"]
    assert text(xml, "fa:Fa/fa:OkresFa/fa:P_6_Od") + text(xml, "fa:Fa/fa:OkresFa/fa:P_6_Do") == [
        "2026-11-21", "2026-11-30"]
    assert text(xml, "fa:Fa/fa:RodzajFaktury") == ["VAT"]
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_7") == [SUPPORT.name, OVERAGE.name]
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_8A") == ["mies.", "min"]
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_8B") == ["1", "15"]
    assert [Decimal(v) for v in text(xml, "fa:Fa/fa:FaWiersz/fa:P_9A")] == [Decimal("33.00"), Decimal("2.00")]
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_11") == ["33.00", "30.00"]
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_12") == ["23", "23"]
    assert text(xml, "fa:Fa/fa:P_13_1") == ["63.00"]
    assert text(xml, "fa:Fa/fa:P_14_1") == ["14.49"]
    assert text(xml, "fa:Fa/fa:P_15") == ["77.49"]


def test_a_single_date_of_supply_is_P_6_when_no_period_is_invoiced() -> None:
    xml = render_fa3(invoice(period_start=None, period_end=None))
    assert text(xml, "fa:Fa/fa:P_6") == ["2026-11-21"]
    assert text(xml, "fa:Fa/fa:OkresFa") == []


def test_card_payment_states_due_date_form_2_and_seller_account() -> None:
    xml = render_fa3(invoice())
    assert text(xml, "fa:Fa/fa:Platnosc/fa:TerminPlatnosci/fa:Termin") == ["2026-12-05"]
    assert text(xml, "fa:Fa/fa:Platnosc/fa:FormaPlatnosci") == ["2"]
    assert text(xml, "fa:Fa/fa:Platnosc/fa:RachunekBankowy/fa:NrRB") == ["PL61109010140000071219812874"]


def test_direct_debit_has_no_FormaPlatnosci_code_so_it_is_described() -> None:
    xml = render_fa3(invoice(payment_method="direct_debit", seller_bank_account=None))
    assert text(xml, "fa:Fa/fa:Platnosc/fa:FormaPlatnosci") == []
    assert text(xml, "fa:Fa/fa:Platnosc/fa:PlatnoscInna") == ["1"]
    assert text(xml, "fa:Fa/fa:Platnosc/fa:OpisPlatnosci") == ["Polecenie zapłaty"]
    assert text(xml, "fa:Fa/fa:Platnosc/fa:RachunekBankowy") == []


def test_R_B12_per_rate_totals_are_printed_not_recomputed_from_lines() -> None:
    # VAT on the rate's sum (1.00 × 23 % = 0.23) differs from the sum of line VATs (0.12 + 0.12).
    half = DocumentLine(position=1, name="Sesja zdalna", quantity=Decimal("1"), unit="szt.",
                        unit_net=Decimal("0.50"), net=Decimal("0.50"), vat_rate=23, vat=Decimal("0.12"),
                        gross=Decimal("0.62"))
    doc = invoice(lines=(half, replace(half, position=2)),
                  totals=(RateTotal(23, Decimal("1.00"), Decimal("0.23"), Decimal("1.23")),),
                  net_total=Decimal("1.00"), vat_total=Decimal("0.23"), gross_total=Decimal("1.23"))
    xml = render_fa3(doc)
    assert text(xml, "fa:Fa/fa:P_13_1") + text(xml, "fa:Fa/fa:P_14_1") + text(xml, "fa:Fa/fa:P_15") == [
        "1.00", "0.23", "1.23"]


def test_polish_characters_survive_as_utf8() -> None:
    name = "Zażółć gęślą jaźń — ąęłśżźćńó ĄĘŁŚŻŹĆŃÓ"
    doc = invoice(buyer=replace(BUYER, name=name, city="Łódź"), place_of_issue="Kędzierzyn-Koźle",
                  notes=("Dziękujemy za współpracę",))
    xml = render_fa3(doc)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert name.encode() in xml and "ąęłśżźćńó".encode() in xml
    assert text(xml, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:Nazwa") == [name]
    assert text(xml, "fa:Podmiot2/fa:Adres/fa:AdresL2") == ["30-001 Łódź"]
    assert text(xml, "fa:Fa/fa:P_1M") == ["Kędzierzyn-Koźle"]
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_7")[0] == "Wsparcie techniczne Office 365 — Standard, 11/2026"
    assert text(xml, "fa:Stopka/fa:Informacje/fa:StopkaFaktury") == ["Dziękujemy za współpracę"]


def test_R_B10_correction_of_an_invoice_in_KSeF_is_KOR_with_its_KSeF_number() -> None:
    xml = render_fa3(correction(KSEF_NUMBER))
    validate_fa3(xml)
    assert text(xml, "fa:Fa/fa:RodzajFaktury") == ["KOR"]
    assert text(xml, "fa:Fa/fa:PrzyczynaKorekty") == [REASON]
    assert text(xml, "fa:Fa/fa:TypKorekty") == ["2"]
    original = "fa:Fa/fa:DaneFaKorygowanej/fa:"
    assert text(xml, original + "NrFaKorygowanej") == ["FV/2026/11/000123"]
    assert text(xml, original + "DataWystFaKorygowanej") == ["2026-11-21"]
    assert text(xml, original + "NrKSeF") == ["1"]
    assert text(xml, original + "NrKSeFFaKorygowanej") == [KSEF_NUMBER]
    assert text(xml, original + "NrKSeFN") == []
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_8B") == ["-1"]
    assert text(xml, "fa:Fa/fa:FaWiersz/fa:P_11") == ["-33.00"]
    assert text(xml, "fa:Fa/fa:P_13_1") + text(xml, "fa:Fa/fa:P_14_1") + text(xml, "fa:Fa/fa:P_15") == [
        "-33.00", "-7.59", "-40.59"]


def test_R_B10_correction_of_an_invoice_outside_KSeF_carries_the_NrKSeFN_marker() -> None:
    xml = render_fa3(correction(None))
    validate_fa3(xml)
    assert text(xml, "fa:Fa/fa:RodzajFaktury") == ["KOR"]
    assert text(xml, "fa:Fa/fa:DaneFaKorygowanej/fa:NrKSeFN") == ["1"]
    assert text(xml, "fa:Fa/fa:DaneFaKorygowanej/fa:NrKSeFFaKorygowanej") == []


def test_R_B10_a_correction_without_the_original_is_refused() -> None:
    with pytest.raises(ValueError, match="names the invoice it corrects"):
        render_fa3(replace(correction(None), corrected=None))
    with pytest.raises(ValueError, match="names the invoice it corrects"):
        render_fa3(replace(correction(None), kind="invoice"))


def test_a_nine_digit_NIP_fails_the_schema() -> None:
    with pytest.raises(KsefSchemaError, match="NIP"):
        render_fa3(invoice(buyer=replace(BUYER, nip="526025027")))


@pytest.mark.parametrize("tamper", [
    lambda xml: xml.replace(b"<RodzajFaktury>VAT</RodzajFaktury>", b"<RodzajFaktury>FAKE</RodzajFaktury>"),
    lambda xml: xml.replace(b"<P_2>FV/2026/11/000123</P_2>", b""),
    lambda xml: xml.replace(b"<P_15>77.49</P_15>", b"<P_15>77.491</P_15>"),
    lambda xml: xml[:-20],
], ids=["unknown-kind", "no-number", "three-decimals", "truncated"])
def test_tampered_xml_fails_validation(tamper) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KsefSchemaError):
        validate_fa3(tamper(render_fa3(invoice())))


def test_rendering_is_deterministic_with_the_issue_date_as_creation_time() -> None:
    assert render_fa3(invoice()) == render_fa3(invoice())
    xml = render_fa3(invoice(), system_info="supportctl 1.2")
    assert text(xml, "fa:Naglowek/fa:DataWytworzeniaFa") == ["2026-11-21T00:00:00Z"]
    assert text(xml, "fa:Naglowek/fa:SystemInfo") == ["supportctl 1.2"]
    assert text(xml, "fa:Naglowek/fa:WariantFormularza") == ["3"]


async def test_submission_is_disabled_by_default() -> None:
    assert await DisabledSubmitter().submit(render_fa3(invoice()), "FV/2026/11/000123") is None
