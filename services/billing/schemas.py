"""Request and response models of the billing API. Money is a decimal string ("82.00")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from services.billing.statuses import (
    ContractStatus, InvoiceKind, InvoicePurpose, InvoiceStatus, LineKind, PaymentMethod, PriceState, RunStatus,
    Standing,
)
from shared.schemas import MoneyStr, StrictModel

PeriodStr = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-12"], description="A calendar month, YYYY-MM.")
PositiveAmount = Field(pattern=r"^\d{1,9}(\.\d{1,2})?$", description="Złoty, at most two decimal places, e.g. `82.00`.")


class InvoiceLineOut(BaseModel):
    position: int
    name: str
    quantity: MoneyStr
    unit: str
    unit_net: MoneyStr
    net: MoneyStr
    vat_rate: int
    vat: MoneyStr
    gross: MoneyStr
    kind: LineKind = Field(description="`subscription`: a month's fee (or its catch-up or repricing correction); "
                                  "`supplement`: an upgrade's fee for the rest of its month (R-B7); `overage` "
                                  "(R-B8); `correction`: a credit note's line.")
    plan_id: str | None = Field(default=None, description="The plan whose fee (subscription) or upgrade "
                                                          "(supplement) the line bills.")


class InvoiceOut(BaseModel):
    id: str
    number: str
    kind: InvoiceKind
    purpose: InvoicePurpose
    contract_id: str
    customer_id: str
    period: str | None
    issue_date: date
    supply_date: date
    period_start: date | None
    period_end: date | None
    due_date: date
    seller: dict[str, Any]
    buyer: dict[str, Any]
    payment_method: PaymentMethod
    net_total: MoneyStr
    vat_total: MoneyStr
    gross_total: MoneyStr
    per_rate: list[dict[str, Any]]
    amount_paid: MoneyStr
    status: InvoiceStatus
    corrects_id: str | None
    correction_reason: str | None
    ksef_number: str | None
    paid_at: datetime | None
    lines: list[InvoiceLineOut] = Field(default_factory=list)


class BillingRunIn(StrictModel):
    period: str = PeriodStr
    as_of: AwareDatetime = Field(description="The instant the run is for (charges follow R-B4's window).")


class BillingRunFailureOut(BaseModel):
    contract_id: str
    reason: str
    occurred_at: datetime


class BillingRunOut(BaseModel):
    """A billing run: its progress (`done` of `total` contracts, chunk by chunk) and its figures,
    the sums over its done chunks."""

    id: str
    status: RunStatus
    period: str
    as_of: datetime
    total: int = Field(description="Active contracts in the run's ranges when it started.")
    done: int = Field(description="Contracts of the chunks done so far.")
    chunks: int
    chunks_done: int
    chunks_retaken: int = Field(description="Chunks taken again after a worker died or lost its lease.")
    chunks_one_by_one: int = Field(description="Chunks whose set-based transaction failed and whose contracts "
                                               "were invoiced one by one.")
    contracts: int = Field(description="Contracts the done chunks looked at (those activated after the start "
                                       "included).")
    invoiced: int
    already_invoiced: int
    not_in_term: int
    failed: int
    failures: list[BillingRunFailureOut] = Field(description="Each contract the run could not invoice, and why.")
    charges_now: int
    charges_scheduled: int
    charges_manual: int
    created_at: datetime
    finished_at: datetime | None


class DunningRunIn(StrictModel):
    as_of: AwareDatetime


class DunningRunOut(BaseModel):
    as_of: datetime
    overdue: list[str]
    terminable: list[str]
    settled: list[str]


class ChargeRunOut(BaseModel):
    submitted: int = Field(description="Charges sent to the provider that got an answer.")
    reconciled: int = Field(description="Unknown outcomes the provider told us (looked up by idempotency key).")
    failed: int = Field(description="Charges that failed before reaching the provider (no payment instrument).")
    throttled: int = Field(description="Requests the provider refused for its rate limit (429); each is sent "
                                       "again after its `Retry-After`.")


class UsageIn(StrictModel):
    event_id: str = Field(min_length=1, max_length=100, description="Idempotency: the same id is recorded once.")
    contract_id: str = Field(min_length=1, max_length=40)
    metric: str = Field(min_length=1, max_length=64)
    unit: Literal["minute", "session"] = "minute"
    quantity: str = PositiveAmount
    unit_price_net: str = PositiveAmount
    occurred_at: AwareDatetime


class UsageOut(BaseModel):
    id: str
    event_id: str
    contract_id: str
    metric: str
    quantity: MoneyStr
    unit_price_net: MoneyStr
    invoice_id: str | None


class CreditLineIn(StrictModel):
    position: int = Field(ge=1)
    net: str = PositiveAmount


class CreditNoteIn(StrictModel):
    reason: str = Field(min_length=3, max_length=500)
    lines: list[CreditLineIn] | None = Field(default=None, description="Net amounts to credit per line; all "
                                                                      "of the invoice when absent.")


class InstrumentIn(StrictModel):
    payment_method: PaymentMethod
    payment_instrument: str = Field(min_length=1, max_length=100, description="The provider's token (sandbox: "
                                                                              "a test card number or IBAN).")


class ManualPaymentIn(StrictModel):
    amount: str = PositiveAmount
    reference: str = Field(min_length=1, max_length=200, description="The bank transfer's reference.")


class PlanPriceOut(BaseModel):
    plan_id: str
    plan_name: str
    price_net: MoneyStr = Field(description="Monthly, net PLN.")
    effective_from: date = Field(description="The first day this plan's fee is owed (the purchase, or the "
                                             "upgrade's date, R-B7).")
    state: PriceState = Field(description="`pending` until the upgrade's supplement is paid "
                                                             "and the plan switches.")


class AccountOut(BaseModel):
    contract_id: str
    customer_id: str
    product_id: str
    plan_id: str
    plan_name: str
    price_net: MoneyStr
    contract_status: ContractStatus
    starts_on: date
    ends_on: date
    buyer: dict[str, Any]
    payment_method: PaymentMethod
    has_payment_instrument: bool
    standing: Standing
    overdue_since: date | None = Field(description="The due date of the oldest invoice in arrears (R-B5).")
    terminable_since: date | None = Field(description="The first day a payment was more than 7 days late, so the "
                                                      "seller may terminate (R-B6/R-E5); the same date entitlements "
                                                      "reports on the contract.")
    price_schedule: list[PlanPriceOut] = Field(default_factory=list, description=(
        "The plan owed from each day: a month is billed at the plan owed the day before it starts; the "
        "month of an upgrade at the old price, its remaining days by the supplement (R-B7)."))


class WebhookReceipt(BaseModel):
    event_id: str
    outcome: Literal["applied", "duplicate", "ignored"]
