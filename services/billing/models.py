"""Tables of the billing service. Money columns are exact (integer grosze in the database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from services.billing.statuses import (
    ChargeStatus, ChunkState, ContractStatus, InvoiceKind, InvoicePurpose, InvoiceStatus, LineKind, PaymentMethod,
    PaymentSource, PriceState, RunStatus, Standing,
)
from shared.columns import EnumText, JSONType, Money, UTCDateTime
from shared.metadata import service_metadata


class BillingAccount(SQLModel, table=True):
    """One per contract (R-E4: dunning is per contract): the buyer, the plan's price and how
    the customer pays. Kept up to date from entitlements' `contract.*` events."""

    __tablename__ = "billing_account"
    __table_args__ = (  # the dunning run's range over contracts flagged overdue or terminable
        Index("ix_billing_account_not_good", "contract_id", postgresql_where=text("standing <> 'good'"),
              sqlite_where=text("standing <> 'good'")),
    )

    contract_id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=100, index=True)
    created_by: str | None = Field(default=None, max_length=200, index=True)  # who bought (the shop)
    product_id: str = Field(max_length=64)
    plan_id: str = Field(max_length=64)
    plan_name: str = Field(max_length=200)
    price_net: Decimal = Field(sa_type=Money)  # monthly, net PLN, of the plan in force now (display)
    # upgraded before the price schedule existed: its schedule holds only today's price until
    # `supportctl billing reprice` rebuilds it from entitlements' history
    legacy_prices: bool = False
    # the billing run and its progress gauge
    contract_status: ContractStatus = Field(sa_type=EnumText(ContractStatus, 30), index=True)
    starts_on: date
    ends_on: date
    buyer: dict[str, Any] = Field(sa_type=JSONType)  # name, nip, address, email
    payment_method: PaymentMethod = Field(sa_type=EnumText(PaymentMethod, 20))  # R-B2
    payment_instrument: str | None = Field(default=None, max_length=100, repr=False)  # provider token
    standing: Standing = Field(default=Standing.GOOD, sa_type=EnumText(Standing, 20))  # dunning
    overdue_since: date | None = None
    terminable_since: date | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PlanPrice(SQLModel, table=True):
    """A contract's price schedule (R-B7, R-B11): the plan whose monthly fee is owed from a day
    on. The first row is the plan bought; each upgrade adds one, `pending` until entitlements
    reports the plan switched, then `applied`. A period's fee is the plan owed on the day before
    the period starts: an upgrade's own month is paid at the old price, its remaining days by
    the supplement."""

    __tablename__ = "plan_price"
    __table_args__ = (Index("ix_plan_price_contract", "contract_id", "effective_from", "seq"),)

    id: str = Field(primary_key=True, max_length=40)
    contract_id: str = Field(max_length=40)
    seq: int  # order within the contract (two upgrades may share a day)
    plan_id: str = Field(max_length=64)
    plan_name: str = Field(max_length=200)
    price_net: Decimal = Field(sa_type=Money)
    effective_from: date
    state: PriceState = Field(sa_type=EnumText(PriceState, 20))
    origin_key: str | None = Field(default=None, max_length=120, unique=True)  # the event that made it
    invoice_id: str | None = Field(default=None, max_length=40, index=True)  # the upgrade's supplement
    created_at: datetime = Field(sa_type=UTCDateTime)
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invoice(SQLModel, table=True):
    """An issued invoice or credit note: immutable once issued (R-B10); only its payment state
    changes. Numbers are gap-free per series and month (R-B9)."""

    __tablename__ = "invoice"
    __table_args__ = (
        # the billing run issues one invoice per contract and period (idempotent, R-B11)
        Index("uq_invoice_contract_period", "contract_id", "period", unique=True,
              postgresql_where=text("purpose = 'period'"), sqlite_where=text("purpose = 'period'")),
        Index("uq_invoice_contract_first", "contract_id", unique=True,
              postgresql_where=text("purpose = 'first'"), sqlite_where=text("purpose = 'first'")),
        Index("ix_invoice_period", "period"),  # the billing run's progress, counted on every /metrics scrape
        # the dunning run's range over contracts with something unpaid
        Index("ix_invoice_unpaid_contract", "contract_id",
              postgresql_where=text("status IN ('open', 'partially_paid')"),
              sqlite_where=text("status IN ('open', 'partially_paid')")),
    )

    id: str = Field(primary_key=True, max_length=40)
    number: str = Field(max_length=40, unique=True)
    kind: InvoiceKind = Field(sa_type=EnumText(InvoiceKind, 20))
    purpose: InvoicePurpose = Field(sa_type=EnumText(InvoicePurpose, 20))
    origin_key: str | None = Field(default=None, max_length=120, unique=True)  # the event or request it answers
    contract_id: str = Field(max_length=40, index=True)
    customer_id: str = Field(max_length=100, index=True)
    created_by: str | None = Field(default=None, max_length=200, index=True)
    period: str | None = Field(default=None, max_length=7)  # YYYY-MM
    issue_date: date
    supply_date: date
    period_start: date | None = None
    period_end: date | None = None
    due_date: date
    seller: dict[str, Any] = Field(sa_type=JSONType)
    buyer: dict[str, Any] = Field(sa_type=JSONType)
    payment_method: PaymentMethod = Field(sa_type=EnumText(PaymentMethod, 20))
    net_total: Decimal = Field(sa_type=Money)
    vat_total: Decimal = Field(sa_type=Money)
    gross_total: Decimal = Field(sa_type=Money)
    per_rate: list[dict[str, Any]] = Field(sa_type=JSONType)
    amount_paid: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    status: InvoiceStatus = Field(sa_type=EnumText(InvoiceStatus, 20), index=True)
    corrects_id: str | None = Field(default=None, max_length=40, index=True)
    correction_reason: str | None = Field(default=None, max_length=500)
    ksef_number: str | None = Field(default=None, max_length=60)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: str = Field(foreign_key="invoice.id", max_length=40, index=True)
    position: int
    name: str = Field(max_length=300)
    quantity: Decimal = Field(sa_type=Money)  # in hundredths: months, minutes, sessions
    unit: str = Field(max_length=10)
    unit_net: Decimal = Field(sa_type=Money)
    net: Decimal = Field(sa_type=Money)
    vat_rate: int
    vat: Decimal = Field(sa_type=Money)
    gross: Decimal = Field(sa_type=Money)
    kind: LineKind = Field(sa_type=EnumText(LineKind, 20))
    source_id: str | None = Field(default=None, max_length=60)
    plan_id: str | None = Field(default=None, max_length=64)  # the plan whose fee or upgrade the line bills


class InvoiceCounter(SQLModel, table=True):
    """The last number used per series and month: taken under a row lock in the invoice's own
    transaction, so a rolled-back issue leaves no gap and two issues never share a number."""

    __tablename__ = "invoice_counter"

    series: str = Field(primary_key=True, max_length=10)
    month: str = Field(primary_key=True, max_length=7)
    last: int = 0


class Charge(SQLModel, table=True):
    """One attempt to collect an invoice through the payment provider (R-B2, R-B4). The
    idempotency key is ours and goes with the attempt: asking twice never charges twice."""

    __tablename__ = "charge"
    __table_args__ = (Index("ix_charge_due", "status", "scheduled_for"),)

    id: str = Field(primary_key=True, max_length=40)
    invoice_id: str = Field(foreign_key="invoice.id", max_length=40, index=True)
    contract_id: str = Field(max_length=40, index=True)
    attempt: int
    idempotency_key: str = Field(max_length=80, unique=True)
    method: PaymentMethod = Field(sa_type=EnumText(PaymentMethod, 20))
    amount: Decimal = Field(sa_type=Money)
    status: ChargeStatus = Field(sa_type=EnumText(ChargeStatus, 20))
    scheduled_for: datetime = Field(sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_charge_id: str | None = Field(default=None, max_length=80, index=True)
    failure_code: str | None = Field(default=None, max_length=60)
    amount_paid: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Payment(SQLModel, table=True):
    """Money received against an invoice: from a charge (one per charge) or recorded by finance."""

    __tablename__ = "payment"

    id: str = Field(primary_key=True, max_length=40)
    invoice_id: str = Field(foreign_key="invoice.id", max_length=40, index=True)
    charge_id: str | None = Field(default=None, max_length=40, unique=True)
    amount: Decimal = Field(sa_type=Money)
    source: PaymentSource = Field(sa_type=EnumText(PaymentSource, 20))
    reference: str | None = Field(default=None, max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime)


class ReceivedProviderEvent(SQLModel, table=True):
    """Webhook events from the payment provider already applied: a repeat changes nothing."""

    __tablename__ = "provider_event"

    id: str = Field(primary_key=True, max_length=80)
    type: str = Field(max_length=60)
    charge_id: str | None = Field(default=None, max_length=80)
    received_at: datetime = Field(sa_type=UTCDateTime)


class PendingUsage(SQLModel, table=True):
    """Overage waiting for the next invoice (R-B8); `invoice_id` once billed."""

    __tablename__ = "pending_usage"

    id: str = Field(primary_key=True, max_length=40)
    event_id: str = Field(max_length=100, unique=True)
    contract_id: str = Field(max_length=40, index=True)
    metric: str = Field(max_length=64)
    unit: str = Field(max_length=20)
    quantity: Decimal = Field(sa_type=Money)
    unit_price_net: Decimal = Field(sa_type=Money)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    invoice_id: str | None = Field(default=None, max_length=40, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class BillingRun(SQLModel, table=True):
    """A monthly billing run (R-B1, R-B11) as durable work: its contracts cut into chunks that any
    billing replica's worker takes (service/run_worker.py). One run of a period runs at a time;
    starting the period again while it runs joins it, after it has finished replays it (nothing is
    issued twice: one invoice per contract and period)."""

    __tablename__ = "billing_run"
    __table_args__ = (
        Index("uq_billing_run_running_period", "period", unique=True,
              postgresql_where=text("status = 'running'"), sqlite_where=text("status = 'running'")),
        Index("ix_billing_run_period", "period", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    period: str = Field(max_length=7)
    as_of: datetime = Field(sa_type=UTCDateTime)
    status: RunStatus = Field(sa_type=EnumText(RunStatus, 20))
    total: int  # contracts in the chunks' ranges when the run started
    chunks: int
    requested_by: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BillingRunChunk(SQLModel, table=True):
    """The contracts of a run whose id is in [`from_contract`, `to_contract`) (`to_contract` None: no
    upper bound), invoiced in one transaction. The ranges tile every id, so a contract activated
    after the run started is still in one of them.
    A worker leases it (`lease_until`, `lease_token`); a worker that dies leaves the lease to run
    out and the chunk is taken again (`attempts` counts the takes). Its figures are written with
    its invoices, so the run's figures are the sum over its done chunks."""

    __tablename__ = "billing_run_chunk"
    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        # the workers' claim: an index range over pending chunks only
        Index("ix_billing_run_chunk_pending", "lease_until",
              postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="billing_run.id", max_length=40)
    seq: int
    from_contract: str = Field(max_length=40)
    to_contract: str | None = Field(default=None, max_length=40)
    size: int  # contracts in the range when the run started
    state: ChunkState = Field(sa_type=EnumText(ChunkState, 20))
    attempts: int = 0
    lease_until: datetime = Field(sa_type=UTCDateTime)  # free to take from then on
    lease_token: str | None = Field(default=None, max_length=40)
    worker: str | None = Field(default=None, max_length=120)
    # what it did (service/run_chunk.py `Figures`), written with its invoices
    figures: dict[str, int] = Field(default_factory=dict, sa_type=JSONType)
    one_by_one: bool = False  # the set-based transaction failed; its contracts were invoiced one by one
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BillingRunFailure(SQLModel, table=True):
    """A contract a run could not invoice, and why: recorded, and the run goes on."""

    __tablename__ = "billing_run_failure"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="billing_run.id", max_length=40, index=True)
    contract_id: str = Field(max_length=40)
    reason: str = Field(max_length=500)
    occurred_at: datetime = Field(sa_type=UTCDateTime)


metadata = service_metadata(
    BillingAccount.__table__, PlanPrice.__table__, Invoice.__table__, InvoiceLine.__table__, InvoiceCounter.__table__,  # type: ignore[attr-defined]
    Charge.__table__, Payment.__table__, ReceivedProviderEvent.__table__, PendingUsage.__table__,  # type: ignore[attr-defined]
    BillingRun.__table__, BillingRunChunk.__table__, BillingRunFailure.__table__,  # type: ignore[attr-defined]
)
