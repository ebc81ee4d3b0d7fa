"""Request and response models of the entitlements API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator
from pydantic_core import PydanticCustomError

from services.entitlements.errors import InvalidNip
from services.entitlements.statuses import (
    ContractMode, ContractStatus, DispositionInstruction, EntitlementSource, EntitlementStatus, PaymentMethod,
    TerminationReason, UpgradeStatus,
)
from shared.address import POSTAL_CODE, Address, parse_one_line
from shared.nip import normalize_nip
from shared.schemas import Email, MoneyStr, NonNegativeMoney, StrictInt, StrictModel, TermMonths

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Id = str
_ID = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@\-]+$")


# ---- catalogue -------------------------------------------------------------------------------

class CalendarSpec(StrictModel):
    timezone: str = "Europe/Warsaw"
    holidays: str | None = Field(default="PL", description="Country code for the `holidays` package.")
    weekly: dict[Weekday, list[tuple[str, str]]] = Field(
        description="Opening intervals per weekday in local time, e.g. `{\"mon\": [[\"08:30\", \"16:30\"]]}`.")

    @field_validator("weekly")
    @classmethod
    def _intervals(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, intervals in value.items():
            for start, end in intervals:
                for t in (start, end):
                    hh, _, mm = t.partition(":")
                    if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) <= 24 and 0 <= int(mm) < 60):
                        raise ValueError(f"{day}: {t!r} is not HH:MM")
                if start >= end:
                    raise ValueError(f"{day}: interval {start}-{end} is empty")
        return value


class ReactionSpec(StrictModel):
    mode: Literal["business_hours", "business_days_round_the_clock"]
    target_minutes: StrictInt | None = Field(default=None, gt=0, le=100_000)
    estimate_minutes: StrictInt | None = Field(default=None, gt=0, le=100_000)
    limit_minutes: StrictInt | None = Field(default=None, gt=0, le=100_000)
    contractual: bool = True


class QuotaSpec(StrictModel):
    period: Literal["month", "term"]
    limit: StrictInt = Field(ge=0, le=1_000_000)
    unit: str = Field(min_length=1, max_length=20)
    max_per_record: StrictInt | None = Field(default=None, gt=0, le=1_000_000)


class PlanTerms(StrictModel):
    """Everything a plan version fixes; editing any of it publishes a new version."""

    name: str = Field(min_length=1, max_length=200)
    rank: StrictInt = Field(ge=0, le=1000)
    purchasable: bool = True
    price_net: NonNegativeMoney = Field(description="Monthly net price in PLN.")
    priority: Literal["normal", "high"] = "normal"
    benefits: list[str] = Field(default_factory=list)
    excluded_categories: list[str] = Field(default_factory=list)
    support_hours: CalendarSpec
    reaction: ReactionSpec
    quotas: dict[str, QuotaSpec] = Field(default_factory=dict)
    overage_prices: dict[str, NonNegativeMoney] = Field(default_factory=dict)
    limits: dict[str, Annotated[int, Strict(), Field(ge=0, le=1_000_000)]] = Field(default_factory=dict)


class PlanIn(PlanTerms):
    product_id: str = Field(min_length=1, max_length=64)


class PlanFile(PlanTerms):
    id: str = Field(min_length=1, max_length=64)


class ProductIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    licence_product: str = Field(min_length=1, max_length=64)
    free_plan: str | None = None
    term_months: list[TermMonths] = Field(min_length=1, max_length=24)


class ProductFile(ProductIn):
    id: str = Field(min_length=1, max_length=64)
    plans: list[PlanFile] = Field(default_factory=list)


class CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="ignore")  # YAML anchors live in extra top-level keys
    products: list[ProductFile]


class PlanOut(BaseModel):
    id: str
    product_id: str
    version: int
    name: str
    rank: int
    purchasable: bool
    price_net: MoneyStr
    currency: str = "PLN"
    priority: str
    benefits: list[str]
    excluded_categories: list[str]
    support_hours: dict[str, Any]
    reaction: dict[str, Any]
    quotas: dict[str, Any]
    overage_prices: dict[str, MoneyStr]
    limits: dict[str, Any]
    published_at: datetime
    applies_to_existing_from: datetime


class PlanSummary(BaseModel):
    id: str
    version: int
    name: str
    rank: int
    price_net: MoneyStr
    purchasable: bool


class ProductOut(BaseModel):
    id: str
    name: str
    licence_product: str
    free_plan_id: str | None
    term_months: list[int]
    plans: list[PlanSummary]


class CatalogueLoadReport(BaseModel):
    products: int
    plans_published: list[str]
    plans_unchanged: list[str]


# ---- licences --------------------------------------------------------------------------------

class LicenceRef(StrictModel):
    product: str = Field(min_length=1, max_length=64, description="The licence product, e.g. `office365`, `sage`.")
    reference: str = Field(min_length=1, max_length=200, description="Tenant id, licence number, ...")


class LicenceIn(LicenceRef):
    order_ref: str | None = Field(default=None, max_length=200)


class LicenceOut(BaseModel):
    id: str
    customer_id: str
    product: str
    reference: str
    order_ref: str | None
    registered_at: datetime


# ---- purchases and contracts -----------------------------------------------------------------

class Person(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    email: Email
    phone: str | None = Field(default=None, max_length=40)


class BillingDetails(StrictModel):
    """The buyer on every invoice (R-B10). The address is Polish: `street`, `postal_code` and `city`,
    or `address` as one line that holds all three (`ul. Prosta 1, 00-001 Warszawa`); the answer
    always carries both forms."""

    name: str = Field(min_length=1, max_length=300)
    nip: str = Field(description="Polish tax id; checksum validated (422 `invalid_nip`).")
    address: str | None = Field(default=None, min_length=1, max_length=500,
                                description="One line, `street, NN-NNN city`, e.g. `ul. Prosta 1, 00-001 Warszawa`; "
                                            "or leave it out and give `street`, `postal_code` and `city`.")
    street: str | None = Field(default=None, min_length=1, max_length=200)
    postal_code: str | None = Field(default=None, pattern=POSTAL_CODE, description="`NN-NNN`.")
    city: str | None = Field(default=None, min_length=1, max_length=100)
    country: Literal["PL"] = Field(default="PL", description="Buyers with a Polish address only, for now.")
    email: Email
    payment_instrument: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="The payment provider's token for the card or the direct-debit mandate that billing charges "
                    "(R-B2); in the sandbox a test card number or IBAN. Without it, charges wait until billing "
                    "gets one (`PUT /v1/accounts/{contract_id}/payment-instrument`).")

    @field_validator("nip")
    @classmethod
    def _nip(cls, value: str) -> str:
        try:
            return normalize_nip(value)
        except ValueError as exc:
            raise PydanticCustomError(InvalidNip.code, "invalid NIP: {reason}", {"reason": str(exc)}) from None

    @field_validator("address")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and parse_one_line(value) is None:
            raise PydanticCustomError("invalid_address", "an address is `street, NN-NNN city` (e.g. `ul. Prosta 1, "
                                      "00-001 Warszawa`), or give street, postal_code and city")
        return value

    @model_validator(mode="after")
    def _both_forms(self) -> "BillingDetails":
        parts = (self.street, self.postal_code, self.city)
        if all(parts):
            line = Address(*parts).line()  # type: ignore[arg-type]
            if self.address is not None and parse_one_line(self.address) != Address(*parts):  # type: ignore[arg-type]
                raise ValueError(f"address {self.address!r} and street/postal_code/city ({line!r}) disagree; "
                                 "send one form")
            self.address = line
        elif any(parts):
            raise ValueError("street, postal_code and city go together (or send address as one line)")
        elif self.address is None:
            raise ValueError("the buyer's address is required: street, postal_code and city, or address")
        else:
            parsed = parse_one_line(self.address)
            assert parsed is not None  # checked by _one_line
            self.street, self.postal_code, self.city = parsed.street, parsed.postal_code, parsed.city
        return self


class PurchaseIn(StrictModel):
    customer_id: Id = _ID
    plan_id: str = Field(min_length=1, max_length=64)
    mode: ContractMode
    licence: LicenceRef
    term_months: TermMonths
    payment_method: PaymentMethod
    billing: BillingDetails
    order_ref: str | None = Field(default=None, max_length=200)
    representative: Person | None = Field(default=None, description="The customer's named contact (R-E7); "
                                                                    "defaults to the billing name and e-mail.")


class PendingUpgradeOut(BaseModel):
    plan_id: str
    plan_version: int
    requested_on: date
    quote: "QuoteOut"


class ContractOut(BaseModel):
    id: str
    customer_id: str
    licence: LicenceOut
    product_id: str
    plan_id: str
    plan_version: int
    status: ContractStatus
    mode: ContractMode
    term_months: int
    starts_on: date
    ends_on: date
    payment_method: PaymentMethod
    billing: dict[str, Any]
    representatives: dict[str, Any]
    order_ref: str | None
    created_at: datetime
    activated_at: datetime | None
    ended_on: date | None
    end_reason: str | None
    termination_scheduled_on: date | None
    terminable_since: date | None = Field(description="The first day a payment was more than 7 days late, so "
                                       "the seller may terminate (R-E5/R-B6); the same date billing reports.")
    pending_upgrade: PendingUpgradeOut | None
    plan_changed_on: date | None
    previous_plan_id: str | None


class ReasonIn(StrictModel):
    reason: str | None = Field(default=None, max_length=1000)


class TerminateIn(StrictModel):
    reason: TerminationReason
    note: str | None = Field(default=None, max_length=2000)
    effective_on: date | None = Field(default=None, description="Omit for immediate termination.")
    demand_sent_on: date | None = Field(default=None, description="For `seller_breach`: when the customer's "
                                                                    "written demand to cure was sent (R-E5).")


class AsOfIn(StrictModel):
    as_of: date


class ExpireRunOut(BaseModel):
    as_of: date
    expired: list[str]
    terminated: list[str]


class Consent(StrictModel):
    reference: str = Field(min_length=1, max_length=200, description="Document id of the written consent.")
    granted_by: str = Field(min_length=1, max_length=200)
    granted_on: date


class TransferIn(StrictModel):
    to_customer_id: Id = _ID
    consent: Consent | None = None
    billing: BillingDetails | None = None


class RepresentativesIn(StrictModel):
    customer: Person
    seller: Person | None = None


class HistoryEntryOut(BaseModel):
    at: datetime
    action: str
    from_status: ContractStatus | None
    to_status: ContractStatus | None
    actor: str
    reason: str | None
    data: dict[str, Any]


# ---- upgrades --------------------------------------------------------------------------------

class UpgradeIn(StrictModel):
    plan_id: str = Field(min_length=1, max_length=64)
    as_of: date | None = Field(default=None, description="Upgrade date; defaults to today (Europe/Warsaw).")


class QuoteOut(BaseModel):
    net: MoneyStr
    vat: MoneyStr
    gross: MoneyStr
    currency: str = "PLN"
    monthly_difference: MoneyStr
    remaining_days: int
    days_in_month: int


class UpgradeOut(BaseModel):
    contract_id: str
    from_plan_id: str
    to_plan_id: str
    as_of: date
    quote: QuoteOut
    status: UpgradeStatus


class UpgradePaidIn(StrictModel):
    plan_id: str | None = Field(default=None, description="Checked against the pending upgrade if given.")


PendingUpgradeOut.model_rebuild()


# ---- entitlements ----------------------------------------------------------------------------

class QuotaStateOut(BaseModel):
    metric: str
    unit: str
    period: str
    period_start: date
    period_end: date
    limit: int
    used: int
    left: int
    overage: int


class PlanRef(BaseModel):
    id: str
    version: int
    name: str
    rank: int


class EntitlementOut(BaseModel):
    licence: LicenceOut
    product_id: str
    source: EntitlementSource
    status: EntitlementStatus = Field(description="`active`, or `free` when the free plan applies (no paid contract, "
                                                  "or the paid one is suspended or not yet paid).")
    contract_id: str | None
    contract_status: ContractStatus | None
    plan: PlanRef
    priority: str
    benefits: list[str]
    excluded_categories: list[str]
    quotas: list[QuotaStateOut]
    sla: dict[str, Any]
    valid_until: date | None
    tam: dict[str, Any] | None = Field(default=None, description="The contract's Technical Account Manager (the "
                                       "seller's representative) when the plan includes `tam` (R-T8).")


class EntitlementsOut(BaseModel):
    customer_id: str
    as_of: date
    entitlements: list[EntitlementOut]


class CheckOut(BaseModel):
    allowed: bool
    plan_id: str | None
    reason: str
    contract_id: str | None = None


# ---- usage -----------------------------------------------------------------------------------

class UsageIn(StrictModel):
    event_id: str = Field(min_length=1, max_length=200, description="Idempotency: a repeated id is a no-op.")
    metric: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=100_000)
    occurred_at: datetime
    reference: str | None = Field(default=None, max_length=200)


class UsageOut(BaseModel):
    id: str
    contract_id: str
    event_id: str
    metric: str
    quantity: int
    included: int
    overage: int
    period_key: str
    occurred_at: datetime
    recorded_at: datetime
    reference: str | None


# ---- data disposition ------------------------------------------------------------------------

class DispositionOut(BaseModel):
    contract_id: str
    customer_id: str
    ended_on: date
    due_on: date
    instruction: DispositionInstruction | None
    instruction_received_on: date | None
    completed_on: date | None
    overdue: bool


class InstructionIn(StrictModel):
    instruction: DispositionInstruction
    received_on: date | None = Field(default=None, description="When the written instruction arrived; default today.")


class CompletionIn(StrictModel):
    completed_on: date | None = None
