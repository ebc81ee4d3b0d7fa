"""An issued invoice (`InvoiceDocument`) as an A4 PDF that a Polish finance department accepts.

`render_pdf(doc)` prints what R-B10 requires: "Faktura VAT" and its number (or "Faktura
korygująca" with the corrected invoice's number, date, KSeF number and the reason), the date and
place of issue, the date of supply and the period, seller and buyer with NIP, one row per line
(Lp., Nazwa, Ilość, J.m., Cena jedn. netto, Wartość netto, Stawka VAT, Kwota VAT, Wartość brutto),
the totals per VAT rate (R-B12), the gross total ("Do zapłaty"), the payment method, the due date,
the seller's bank account and the notes. Labels are Polish, with English in small grey type.
Once something is paid it says so: a paid invoice "Zapłacono dnia 2026-11-03: 40,59 PLN" and
"Do zapłaty: 0,00 PLN", a partly paid one what was paid and "Pozostało do zapłaty"; a credit note
"Do zwrotu". That is the payment state when the PDF is made; the invoice itself never changes.

It computes no money except what is left to pay (gross minus paid); every amount is printed
exactly, in Polish style, "1 234,56" with a no-break space (U+00A0) between thousands. An amount with more than two decimal
places is refused rather than rounded (R-B9); a unit price may have more and keeps all of them.
For a correction the lines and totals are already the differences (negative for a refund).

Deterministic: the PDF's creation date is the issue date (midnight, Europe/Warsaw) and the file
/ID is fpdf2's hash of the content, so one document renders to the same bytes every time with the
same fpdf2 version and font files (a new fpdf2 release may change the bytes, not the content).

Font: DejaVu Sans 2.37 (regular and bold), committed in `fonts/` with its licence (`fonts/LICENSE`:
the Bitstream Vera / Arev licence, permissive, redistribution allowed; DejaVu's changes are public
domain). The PDF core fonts have no ą ę ł ś ż ź ć ń ó, and Debian's fonts are not on every machine.
The PyPI options were weaker: `rinoh-typeface-dejavusans` pulls in the whole rinohtype typesetter,
and `fontpkg-noto-sans` is a months-old alpha shipping only a variable font. DejaVu is frozen
upstream (2.37 since 2016), so two committed files (~1.4 MB) need no upkeep; fpdf2 embeds only the
glyphs used, so a PDF stays around 30 kB.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

from services.billing.document import InvoiceDocument, Party

FONTS = Path(__file__).with_name("fonts")
FONT = "DejaVu"
NBSP = "\u00a0"
GREY = (110, 110, 110)
RULE = (190, 190, 190)
HEAD_FILL = (235, 235, 235)
MARGIN = 15  # mm

PAYMENT_METHODS = {"card": ("karta płatnicza", "card"), "direct_debit": ("polecenie zapłaty", "direct debit")}

# Lp., Nazwa, Ilość, J.m., Cena jedn. netto, Wartość netto, Stawka VAT, Kwota VAT, Wartość brutto (mm)
COLUMNS = (
    ("Lp.", 7, "RIGHT"),
    ("Nazwa towaru lub usługi", 49, "LEFT"),
    ("Ilość", 12, "RIGHT"),
    ("J.m.", 10, "LEFT"),
    ("Cena jedn. netto", 21, "RIGHT"),
    ("Wartość netto", 21, "RIGHT"),
    ("Stawka VAT", 14, "RIGHT"),
    ("Kwota VAT", 21, "RIGHT"),
    ("Wartość brutto", 25, "RIGHT"),
)


def render_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as PDF bytes; the same document always gives the same bytes."""
    pdf = _InvoicePdf(doc)
    pdf.add_page()
    _heading(pdf, doc)
    _parties(pdf, doc.seller, doc.buyer)
    _lines(pdf, doc)
    _totals(pdf, doc)
    _payment(pdf, doc)
    return bytes(pdf.output())


def amount(value: Decimal, *, unit_price: bool = False) -> str:
    """Polish style, exactly: Decimal("-1234.5") -> "-1 234,50" (no-break space, decimal comma).

    Always two decimals or more: any amount with more is refused, except a unit price, which
    keeps every decimal it has."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite amount: {value}")
    places = max(2, -exponent)
    if places > 2 and not unit_price:
        raise ValueError(f"{value} has more than two decimal places: amounts are exact grosze (R-B9)")
    text = format(value, f",.{places}f")  # never rounds: `places` covers every given decimal
    return text.replace(",", NBSP).replace(".", ",")


def quantity(value: Decimal) -> str:
    """Quantities without needless zeros: 1, 1,5, 1 200."""
    text = format(value, ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", NBSP).replace(".", ",")


def _day(value: date) -> str:
    return value.isoformat()


def _iban(account: str) -> str:
    compact = account.replace(" ", "")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


class _InvoicePdf(FPDF):
    def __init__(self, doc: InvoiceDocument) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.title_pl = "Faktura korygująca" if doc.kind == "correction" else "Faktura VAT"
        for style, file in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
            path = FONTS / file
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: the invoice font ships with the package")
            self.add_font(FONT, style, str(path))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=18)
        self.set_creation_date(datetime.combine(doc.issue_date, time(0), tzinfo=ZoneInfo("Europe/Warsaw")))
        self.set_title(f"{self.title_pl} {doc.number}")
        self.set_subject(f"{self.title_pl} {doc.number}: {doc.seller.name} dla {doc.buyer.name}")
        self.set_author(doc.seller.name)
        self.set_creator("support-platform billing")
        self.set_lang("pl-PL")

    def header(self) -> None:
        if self.page_no() > 1:  # continuation pages name the document; the table repeats its headings
            self.text_style(8, grey=True)
            self.cell(0, 5, f"{self.title_pl} {self.doc.number} (ciąg dalszy / continued)",
                      new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.text_style(7, grey=True)
        self.cell(0, 4, f"{self.title_pl} {self.doc.number}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"Strona {self.page_no()} z {{nb}}", align="R")

    def text_style(self, size: float, *, bold: bool = False, grey: bool = False) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        self.set_text_color(*(GREY if grey else (0, 0, 0)))

    def label(self, polish: str, english: str, *, size: float = 9) -> None:
        """A bold Polish label with its English in small grey type, on one line."""
        self.text_style(size, bold=True)
        self.cell(self.get_string_width(polish) + 1.5, 5, polish)
        self.text_style(size - 2, grey=True)
        self.cell(0, 5, english, new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    top = pdf.get_y()
    pdf.text_style(18, bold=True)
    pdf.cell(82, 9, pdf.title_pl, new_x="LMARGIN", new_y="NEXT")
    pdf.text_style(8, grey=True)
    pdf.cell(82, 4, "Correcting invoice" if doc.kind == "correction" else "VAT invoice",
             new_x="LMARGIN", new_y="NEXT")
    pdf.text_style(12, bold=True)
    pdf.cell(82, 7, f"nr {doc.number}", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()

    rows = [("Data wystawienia", "Date of issue", _day(doc.issue_date)),
            ("Miejsce wystawienia", "Place of issue", doc.place_of_issue),
            ("Data dostawy / wykonania usługi", "Date of supply", _day(doc.supply_date))]
    if doc.period_start and doc.period_end:
        rows.append(("Okres rozliczeniowy", "Billing period",
                     f"{_day(doc.period_start)} – {_day(doc.period_end)}"))
    pdf.set_y(top)
    for polish, english, value in rows:
        pdf.set_x(100)
        pdf.text_style(8)
        pdf.cell(48, 4, polish)
        pdf.text_style(9, bold=True)
        pdf.cell(0, 4, value, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(100)
        pdf.text_style(6.5, grey=True)
        pdf.cell(48, 3, english, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.8)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 2)

    if doc.corrected is not None:
        c = doc.corrected
        pdf.set_fill_color(*HEAD_FILL)
        pdf.text_style(9, bold=True)
        pdf.multi_cell(0, 5, f"do faktury {c.number} z {_day(c.issue_date)}", fill=True, align="L",
                       new_x="LMARGIN", new_y="NEXT", padding=(1.5, 2, 0, 2))
        pdf.text_style(9)
        if c.ksef_number:
            pdf.multi_cell(0, 5, f"Numer KSeF faktury korygowanej: {c.ksef_number}", fill=True, align="L",
                           new_x="LMARGIN", new_y="NEXT", padding=(0, 2, 0, 2))
        pdf.multi_cell(0, 5, f"Przyczyna korekty: {c.reason}", fill=True, align="L",
                       new_x="LMARGIN", new_y="NEXT", padding=(0, 2, 1.5, 2))
        pdf.set_fill_color(255)
        pdf.ln(3)
    _rule(pdf)


def _parties(pdf: _InvoicePdf, seller: Party, buyer: Party) -> None:
    top, width, bottom = pdf.get_y() + 2, 86, pdf.get_y()
    for x, (polish, english), party in ((MARGIN, ("Sprzedawca", "Seller"), seller),
                                        (MARGIN + width + 8, ("Nabywca", "Buyer"), buyer)):
        pdf.set_left_margin(x)
        pdf.set_xy(x, top)
        pdf.label(polish, english)
        pdf.text_style(10, bold=True)
        pdf.multi_cell(width, 5, party.name, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.text_style(9)
        address = [party.street, f"{party.postal_code} {party.city}"]
        if party.country != "PL":
            address.append(party.country)
        for line in address:
            pdf.multi_cell(width, 4.5, line, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.text_style(9, bold=True)
        pdf.cell(width, 5, f"NIP: {party.nip}", new_x="LMARGIN", new_y="NEXT")
        if party.email:
            pdf.text_style(8, grey=True)
            pdf.multi_cell(width, 4, party.email, align="L", new_x="LMARGIN", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
    pdf.set_left_margin(MARGIN)
    pdf.set_xy(MARGIN, bottom + 3)
    _rule(pdf)


def _lines(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    pdf.ln(2)
    pdf.text_style(7.5, grey=True)
    note = "Kwoty w " + doc.currency
    if doc.kind == "correction":
        note = "Pozycje i kwoty to różnice względem faktury korygowanej (ujemne: zmniejszenie). " + note
    pdf.multi_cell(0, 4, note, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.text_style(8)
    with pdf.table(
        col_widths=tuple(w for _, w, _ in COLUMNS), width=sum(w for _, w, _ in COLUMNS),
        text_align=tuple(a for _, _, a in COLUMNS), v_align="TOP", line_height=4,
        padding=(1.2, 1, 1.2, 1), borders_layout="SINGLE_TOP_LINE",
        headings_style=FontFace(family=FONT, emphasis="BOLD", size_pt=7, fill_color=HEAD_FILL),
        cell_fill_mode="ROWS", cell_fill_color=(248, 248, 248),
    ) as table:
        head = table.row()
        for title, _, _ in COLUMNS:
            head.cell(title, align="CENTER", v_align="MIDDLE")
        for line in doc.lines:
            values = (str(line.position), line.name, quantity(line.quantity), line.unit,
                      amount(line.unit_net, unit_price=True), amount(line.net), f"{line.vat_rate}%",
                      amount(line.vat), amount(line.gross))
            row = table.row()
            for text, (_, width, align) in zip(values, COLUMNS):
                row.cell(text, style=_fitting(pdf, text, width - 2, 8) if align == "RIGHT" else None)
    _rule(pdf)
    pdf.ln(3)


def _fitting(pdf: FPDF, text: str, width: float, size: float) -> FontFace | None:
    """A smaller size for a number too wide for its column (names wrap instead)."""
    pdf.set_font(FONT, "", size)
    fitted = size
    while fitted > 5 and pdf.get_string_width(text) * fitted / size > width:
        fitted -= 0.5
    return None if fitted == size else FontFace(size_pt=fitted)


def _totals(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    settlement = _settlement(doc)
    height = 6 * (len(doc.totals) + 2) + 12 + 10 * len(settlement)  # the per-rate table, its total, "Do zapłaty"
    if pdf.will_page_break(height):
        pdf.add_page()
    widths = (26, 28, 26, 30)
    pdf.text_style(8)
    with pdf.table(
        col_widths=widths, width=sum(widths), align="RIGHT", text_align="RIGHT", line_height=4,
        padding=(1.2, 1, 1.2, 1), borders_layout="SINGLE_TOP_LINE",
        headings_style=FontFace(family=FONT, emphasis="BOLD", size_pt=7, fill_color=HEAD_FILL),
    ) as table:
        head = table.row()
        for title in ("Stawka VAT", "Wartość netto", "Kwota VAT", "Wartość brutto"):
            head.cell(title, align="CENTER", v_align="MIDDLE")
        for rate in doc.totals:
            table.row((f"{rate.vat_rate}%", amount(rate.net), amount(rate.vat), amount(rate.gross)))
        bold = FontFace(family=FONT, emphasis="BOLD", size_pt=8)
        total = table.row()
        for text in ("Razem", amount(doc.net_total), amount(doc.vat_total), amount(doc.gross_total)):
            total.cell(text, style=bold)
    pdf.ln(4)

    for polish, english, size in settlement:
        pdf.text_style(size, bold=True)
        pdf.cell(0, size * 0.55, polish, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.text_style(7, grey=True)
        pdf.cell(0, 3, english, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.ln(2)
    _rule(pdf)


def _settlement(doc: InvoiceDocument) -> list[tuple[str, str, float]]:
    """The lines under the totals, each (Polish, English, size): what is due, or for a credit note
    what is refunded; once something is paid, what was paid and when, and what is left."""
    cur = doc.currency
    if doc.gross_total < 0:  # a credit note: the refund
        return [(f"Do zwrotu: {amount(-doc.gross_total)} {cur}", "Amount to refund", 16)]
    paid = doc.amount_paid
    if paid <= 0:
        return [(f"Do zapłaty: {amount(doc.gross_total)} {cur}", "Amount due", 16)]
    left = doc.gross_total - paid
    on = _day(doc.paid_on) if doc.paid_on else None
    if left <= 0:
        rows = [(f"Zapłacono{f' dnia {on}' if on else ''}: {amount(paid)} {cur}",
                 f"Paid{f' on {on}' if on else ''}", 12),
                (f"Do zapłaty: {amount(Decimal('0.00'))} {cur}", "Amount due: nothing, the invoice is paid", 16)]
        if left < 0:
            rows.insert(1, (f"Nadpłata: {amount(-left)} {cur}", "Overpaid", 10))
        return rows
    return [(f"Zapłacono częściowo{f' (ostatnia wpłata {on})' if on else ''}: {amount(paid)} {cur}",
             f"Paid in part{f' (last payment on {on})' if on else ''}", 12),
            (f"Pozostało do zapłaty: {amount(left)} {cur}", "Amount left to pay", 16)]


def _payment(pdf: _InvoicePdf, doc: InvoiceDocument) -> None:
    pdf.ln(2)
    method_pl, method_en = PAYMENT_METHODS[doc.payment_method]
    rows = [("Sposób płatności", "Payment method", f"{method_pl} ({method_en})"),
            ("Termin płatności", "Due date", _day(doc.payment_due))]
    if doc.seller_bank_account:
        rows.append(("Rachunek bankowy sprzedawcy", "Seller's bank account", _iban(doc.seller_bank_account)))
    for polish, english, value in rows:
        pdf.text_style(9)
        used = pdf.get_string_width(polish) + 1.5
        pdf.cell(used, 5, polish)
        pdf.text_style(7, grey=True)
        pdf.cell(85 - used, 5, english)
        pdf.text_style(9, bold=True)
        pdf.multi_cell(0, 5, value, align="L", new_x="LMARGIN", new_y="NEXT")
    if doc.notes:
        pdf.ln(3)
        pdf.label("Uwagi", "Notes")
        pdf.text_style(9)
        for note in doc.notes:
            pdf.multi_cell(0, 4.5, note, align="L", new_x="LMARGIN", new_y="NEXT")


def _rule(pdf: FPDF) -> None:
    pdf.set_draw_color(*RULE)
    pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
