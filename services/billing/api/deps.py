"""Dependencies and response builders shared by the billing routes."""

from __future__ import annotations

from fastapi import Request

from services.billing import repository as repo
from services.billing.errors import InvoiceNotFound
from services.billing.models import Invoice
from services.billing.schemas import InvoiceLineOut, InvoiceOut
from services.billing.settings import BillingSettings
from shared.auth import Principal
from shared.web.auth import scoped  # noqa: F401 - re-exported to the routes
from shared.roles import BILLING_ADMIN
from shared.uow import UnitOfWork


def settings_of(request: Request) -> BillingSettings:
    return request.app.state.runtime.settings


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


async def visible_invoice(uow: UnitOfWork, invoice_id: str, principal: Principal) -> Invoice:
    invoice = await repo.invoice(uow.session, invoice_id)
    if invoice is None or not may_see(principal, invoice):
        raise InvoiceNotFound(f"invoice {invoice_id!r} does not exist")
    return invoice


async def invoice_out(uow: UnitOfWork, invoice: Invoice, with_lines: bool = True) -> InvoiceOut:
    out = InvoiceOut.model_validate(invoice, from_attributes=True)
    if with_lines:
        out.lines = [InvoiceLineOut.model_validate(l, from_attributes=True)
                     for l in await repo.lines(uow.session, invoice.id)]
    return out
