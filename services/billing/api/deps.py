"""Dependencies and response builders shared by the billing routes."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request

from services.billing.models import Invoice, InvoiceLine
from services.billing.schemas import InvoiceLineOut, InvoiceOut
from services.billing.settings import BillingSettings
from shared.web.auth import scoped  # noqa: F401 - re-exported to the routes


def settings_of(request: Request) -> BillingSettings:
    return request.app.state.runtime.settings


def invoice_out(invoice: Invoice, lines: Sequence[InvoiceLine] | None = None) -> InvoiceOut:
    """The invoice; with its lines when they are given (a listing leaves them out)."""
    out = InvoiceOut.model_validate(invoice, from_attributes=True)
    if lines is not None:
        out.lines = [InvoiceLineOut.model_validate(l, from_attributes=True) for l in lines]
    return out
