"""Payment routes: the provider's webhook, accounts' payment instruments, manual payments."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request

from services.billing import repository as repo
from services.billing.api.deps import scoped, settings_of, visible_invoice
from services.billing.errors import AccountNotFound, InvalidWebhook, InvoiceNotFound
from services.billing.payments.provider import InvalidWebhookSignature
from services.billing.schemas import AccountOut, InstrumentIn, ManualPaymentIn, PlanPriceOut, WebhookReceipt
from services.billing.service.accounts import Accounts
from services.billing.service.collection import Collection
from services.billing.service.provider_events import apply_provider_event
from services.billing.statuses import ChargeStatus, InvoiceKind, UNPAID
from shared.errors import Conflict, Forbidden, error_responses
from shared.openapi import standard_webhook_parameters
from shared.roles import BILLING_ADMIN, BILLING_READ, BILLING_WRITE
from shared.uow import UoW

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


async def _account_out(uow, account) -> AccountOut:  # type: ignore[no-untyped-def]
    schedule = [PlanPriceOut.model_validate(row, from_attributes=True)
                for row in await repo.price_schedule(uow.session, account.contract_id)]
    return AccountOut.model_validate({**account.model_dump(), "price_schedule": schedule,
                                      "has_payment_instrument": bool(account.payment_instrument)})


@router.get("/v1/accounts/{contract_id}", operation_id="getBillingAccount",
            response_model=AccountOut, summary="A contract's billing account",
            responses=error_responses(Forbidden, AccountNotFound))
async def get_account(contract_id: str, request: Request, uow: UoW, principal: scoped(BILLING_READ)) -> AccountOut:
    account = await Accounts(uow, settings_of(request)).get(contract_id)
    if not principal.may_see(account.customer_id):
        raise AccountNotFound(f"no billing account for contract {contract_id!r}")
    return await _account_out(uow, account)


@router.put("/v1/accounts/{contract_id}/payment-instrument", operation_id="setPaymentInstrument",
            response_model=AccountOut,
            summary="Set how the customer pays (R-B2)",
            description="After an expired card or a new mandate: due and failed charges use it from now on.",
            responses=error_responses(Forbidden, AccountNotFound))
async def put_instrument(contract_id: str, body: InstrumentIn, request: Request, uow: UoW,
                         principal: scoped(BILLING_WRITE)) -> AccountOut:
    account = await Accounts(uow, settings_of(request)).get(contract_id, for_update=True)
    if not principal.may_see(account.customer_id):
        raise AccountNotFound(f"no billing account for contract {contract_id!r}")
    account.payment_method, account.payment_instrument = body.payment_method, body.payment_instrument
    account.updated_at = uow.clock.now()
    for invoice in await repo.unpaid_invoices(uow.session, contract_id):  # try the new instrument now
        charges = await repo.charges_of(uow.session, invoice.id)
        waiting = [c for c in charges if c.status == ChargeStatus.SCHEDULED]
        for charge in waiting:
            charge.scheduled_for = min(charge.scheduled_for, uow.clock.now())
        if not waiting and not any(c.status in (ChargeStatus.UNKNOWN, ChargeStatus.PENDING) for c in charges):
            await Collection(uow, settings_of(request)).schedule(invoice, uow.clock.now(), len(charges) + 1)
    await uow.session.flush()
    return await _account_out(uow, account)


@router.post("/v1/invoices/{invoice_id}/payments", operation_id="recordManualPayment",
             response_model=WebhookReceipt, status_code=201,
             summary="Record a payment received outside the provider (a bank transfer)",
             description="Finance only. Partial payments are kept as such.",
             responses=error_responses(Forbidden, InvoiceNotFound, Conflict))
async def manual_payment(invoice_id: str, body: ManualPaymentIn, request: Request, uow: UoW,
                         principal: scoped(BILLING_ADMIN)) -> WebhookReceipt:
    invoice = await visible_invoice(uow, invoice_id, principal)
    invoice = await repo.invoice(uow.session, invoice.id, for_update=True)
    assert invoice is not None
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in UNPAID:
        raise Conflict(f"{invoice.number} is {invoice.status}; nothing is owed on it")
    payment = await Collection(uow, settings_of(request)).record_payment(invoice, Decimal(body.amount), "manual",
                                                                         reference=body.reference)
    return WebhookReceipt(event_id=payment.id, outcome="applied")
