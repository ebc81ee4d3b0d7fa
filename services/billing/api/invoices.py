"""Invoice routes: listing, one invoice, its PDF and KSeF FA(3) XML, credit notes."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.billing.api.deps import invoice_out, scoped, settings_of
from services.billing.errors import CreditTooLarge, InvoiceNotFound, NotCreditable
from services.billing.schemas import CreditNoteIn, InvoiceOut
from services.billing.service.invoicing import InvoicingService
from shared.errors import Forbidden, IdempotencyKeyRequired, IdempotencyKeyReused, error_responses
from shared.web.idempotency import IdempotencyRequired
from shared.openapi import binary_response
from shared.roles import BILLING_ADMIN, BILLING_READ
from shared.schemas import Page
from shared.web.uow import ReadUoW, UoW

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])


@router.get("", operation_id="listInvoices",
            response_model=Page[InvoiceOut], summary="Invoices and credit notes, newest first",
            description="Customers see their own; the shop what it created; finance (`billing:admin`) all.",
            responses=error_responses(Forbidden))
async def list_invoices(uow: ReadUoW, request: Request, principal: scoped(BILLING_READ),
                        customer_id: str | None = Query(default=None, max_length=100),
                        contract_id: str | None = Query(default=None, max_length=40),
                        cursor: str | None = Query(default=None, max_length=40),
                        limit: int = Query(default=50, ge=1, le=200)) -> Page[InvoiceOut]:
    page = await InvoicingService(uow, settings_of(request)).listing(
        principal, customer_id=customer_id, contract_id=contract_id, after=cursor, limit=limit)
    return Page(items=[invoice_out(r) for r in page.rows], next_cursor=page.next_after)


@router.get("/{invoice_id}", operation_id="getInvoice", response_model=InvoiceOut, summary="An invoice with its lines",
            responses=error_responses(Forbidden, InvoiceNotFound))
async def get_invoice(invoice_id: str, uow: ReadUoW, request: Request, principal: scoped(BILLING_READ)) -> InvoiceOut:
    invoicing = InvoicingService(uow, settings_of(request))
    invoice = await invoicing.visible(invoice_id, principal)
    return invoice_out(invoice, await invoicing.lines(invoice))


def _filename(number: str, ext: str) -> str:
    return number.replace("/", "-") + "." + ext


@router.get("/{invoice_id}/pdf", operation_id="getInvoicePdf",
            response_class=Response, summary="The invoice as PDF (R-B3, R-B10)",
            responses={**error_responses(Forbidden, InvoiceNotFound),
                       200: binary_response("application/pdf", "The PDF.")})
async def invoice_pdf(invoice_id: str, uow: ReadUoW, request: Request, principal: scoped(BILLING_READ)) -> Response:
    from services.billing.pdf import render_pdf  # fpdf2 + fontTools + Pillow: loaded at the first PDF (idle RSS)

    invoice, doc = await InvoicingService(uow, settings_of(request)).document(invoice_id, principal)
    return Response(render_pdf(doc), media_type="application/pdf",
                    headers={"content-disposition": f'inline; filename="{_filename(invoice.number, "pdf")}"'})


@router.get("/{invoice_id}/ksef.xml", operation_id="getInvoiceKsefXml", response_class=Response,
            summary="The invoice as KSeF FA(3) XML, validated against the official schema",
            responses={**error_responses(Forbidden, InvoiceNotFound),
                       200: binary_response("application/xml", "FA(3) XML.")})
async def invoice_xml(invoice_id: str, uow: ReadUoW, request: Request, principal: scoped(BILLING_READ)) -> Response:
    from services.billing.ksef import render_fa3  # ksef-client + lxml + the XSD: loaded at the first XML

    invoice, doc = await InvoicingService(uow, settings_of(request)).document(invoice_id, principal)
    return Response(render_fa3(doc), media_type="application/xml",
                    headers={"content-disposition": f'attachment; filename="{_filename(invoice.number, "xml")}"'})


@router.post("/{invoice_id}/credit-notes", operation_id="createCreditNote", status_code=201, response_model=InvoiceOut,
             summary="Correct an invoice with a credit note (R-B10)",
             description="A correcting invoice that references the original's number (and KSeF number); the "
                         "original is never edited. Never more than what is left of the original. Finance only. "
                         "Requires `Idempotency-Key`.",
             responses=error_responses(Forbidden, InvoiceNotFound, CreditTooLarge, NotCreditable,
                                       IdempotencyKeyRequired, IdempotencyKeyReused))
async def credit_note(invoice_id: str, body: CreditNoteIn, request: Request, uow: UoW, idem: IdempotencyRequired,
                      principal: scoped(BILLING_ADMIN)):
    positions = None if body.lines is None else {l.position: Decimal(l.net) for l in body.lines}
    invoicing = InvoicingService(uow, settings_of(request))
    note = await invoicing.credit(invoice_id, body.reason, positions, principal)
    return await idem.respond(201, invoice_out(note, await invoicing.lines(note)))
