"""Payment routes: the provider's webhook, accounts' payment instruments, manual payments."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request

from services.billing.api.deps import scoped, settings_of
from services.billing.errors import AccountNotFound, InvalidWebhook, InvoiceNotFound
from services.billing.payments.provider import InvalidWebhookSignature
from services.billing.schemas import AccountOut, InstrumentIn, ManualPaymentIn, PlanPriceOut, WebhookReceipt
from services.billing.service.accounts import AccountService
from services.billing.service.collection import CollectionService
from services.billing.service.invoicing import InvoicingService
from services.billing.service.provider_events import apply_provider_event
from shared.errors import Conflict, Forbidden, error_responses
from shared.openapi import standard_webhook_parameters
from shared.roles import BILLING_ADMIN, BILLING_READ, BILLING_WRITE
from shared.web.uow import UoW

router = APIRouter(tags=["payments"])


@router.post("/v1/payments/webhook", operation_id="receivePaymentWebhook",
             response_model=WebhookReceipt, summary="The payment provider's webhook",
             description="Signed per the Standard Webhooks spec with the provider's secret (no bearer token); an "
                         "unsigned, tampered or stale delivery is refused with 401 `invalid_webhook_signature`. Each "
                         "event is applied once; a repeat or a late report changes nothing.",
             responses=error_responses(InvalidWebhook),
             openapi_extra={"parameters": standard_webhook_parameters()})
async def payment_webhook(request: Request, uow: UoW) -> WebhookReceipt:
    try:
        event = request.app.state.provider.parse_webhook(request.headers, await request.body())
    except InvalidWebhookSignature as exc:
        raise InvalidWebhook(str(exc) or None) from None
    outcome = await apply_provider_event(uow, settings_of(request), event)
    return WebhookReceipt(event_id=event.id, outcome=outcome)


async def _account_out(accounts: AccountService, account) -> AccountOut:  # type: ignore[no-untyped-def]
    schedule = [PlanPriceOut.model_validate(row, from_attributes=True) for row in await accounts.price_schedule(account)]
    return AccountOut.model_validate({**account.model_dump(), "price_schedule": schedule,
                                      "has_payment_instrument": bool(account.payment_instrument)})


@router.get("/v1/accounts/{contract_id}", operation_id="getBillingAccount",
            response_model=AccountOut, summary="A contract's billing account",
            responses=error_responses(Forbidden, AccountNotFound))
async def get_account(contract_id: str, request: Request, uow: UoW, principal: scoped(BILLING_READ)) -> AccountOut:
    accounts = AccountService(uow, settings_of(request))
    return await _account_out(accounts, await accounts.visible(contract_id, principal))


@router.put("/v1/accounts/{contract_id}/payment-instrument", operation_id="setPaymentInstrument",
            response_model=AccountOut,
            summary="Set how the customer pays (R-B2)",
            description="After an expired card or a new mandate: due and failed charges use it from now on.",
            responses=error_responses(Forbidden, AccountNotFound))
async def put_instrument(contract_id: str, body: InstrumentIn, request: Request, uow: UoW,
                         principal: scoped(BILLING_WRITE)) -> AccountOut:
    accounts = AccountService(uow, settings_of(request))
    account = await accounts.set_instrument(contract_id, body.payment_method, body.payment_instrument, principal)
    return await _account_out(accounts, account)


@router.post("/v1/invoices/{invoice_id}/payments", operation_id="recordManualPayment",
             response_model=WebhookReceipt, status_code=201,
             summary="Record a payment received outside the provider (a bank transfer)",
             description="Finance only. Partial payments are kept as such.",
             responses=error_responses(Forbidden, InvoiceNotFound, Conflict))
async def manual_payment(invoice_id: str, body: ManualPaymentIn, request: Request, uow: UoW,
                         principal: scoped(BILLING_ADMIN)) -> WebhookReceipt:
    invoice = await InvoicingService(uow, settings_of(request)).visible(invoice_id, principal)
    payment = await CollectionService(uow, settings_of(request)).record_manual_payment(
        invoice, Decimal(body.amount), body.reference)
    return WebhookReceipt(event_id=payment.id, outcome="applied")
