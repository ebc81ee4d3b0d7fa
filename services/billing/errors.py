"""Domain errors of the billing service, each with a stable code."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Unauthorized, Unprocessable


class InvoiceNotFound(NotFound, code="invoice_not_found",
                      message="No such invoice."):
    pass


class AccountNotFound(NotFound, code="account_not_found",
                      message="No billing account for this contract."):
    pass


class InvalidPeriod(Unprocessable, code="invalid_period",
                    message="A period is YYYY-MM, not later than the month after the current one."):
    pass


class CreditTooLarge(Unprocessable, code="credit_exceeds_invoice",
                     message="A credit note cannot credit more than what is left of its invoice."):
    pass


class NotCreditable(Conflict, code="not_creditable",
                    message="Only an invoice (not a credit note) can be corrected."):
    pass


class UsageConflict(Conflict, code="usage_event_reused",
                    message="This usage event id was already recorded with different content."):
    pass


class InvalidWebhook(Unauthorized, code="invalid_webhook_signature",
                     message="The webhook is not signed by the payment provider, or its timestamp is too old."):
    pass


class InvalidAmount(Unprocessable, code="invalid_amount",
                    message="An amount is a positive decimal with at most two places."):
    pass


class BillingRunNotFound(NotFound, code="billing_run_not_found",
                         message="No such billing run."):
    pass



class InvoiceNotExportable(Unprocessable, code="invoice_not_exportable",
                           message="The invoice would not render as a valid KSeF FA(3) document, so it was not "
                                   "issued and no number was used."):
    pass
