"""Tables of the entitlements service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from services.entitlements.statuses import (
    LIVE_STATUSES, ContractMode, ContractStatus, DispositionInstruction, PaymentMethod,
)
from shared.columns import EnumText, JSONType, Money, UTCDateTime
from shared.metadata import service_metadata

_LIVE_SQL = text("status IN (" + ", ".join(f"'{status}'" for status in LIVE_STATUSES) + ")")
_SCHEDULED_SQL = text(f"termination_scheduled_on IS NOT NULL AND {_LIVE_SQL.text}")


class Product(SQLModel, table=True):
    __tablename__ = "product"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    licence_product: str = Field(max_length=64, index=True)
    free_plan_id: str | None = Field(default=None, max_length=64)
    term_months: list[int] = Field(sa_type=JSONType)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PlanVersion(SQLModel, table=True):
    """One published version of a plan's terms. Contracts point at the version they bought."""

    __tablename__ = "plan_version"

    plan_id: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    product_id: str = Field(foreign_key="product.id", max_length=64, index=True)
    name: str = Field(max_length=200)
    rank: int
    purchasable: bool = True
    price_net: Decimal = Field(sa_type=Money)
    priority: str = Field(max_length=20)
    benefits: list[str] = Field(sa_type=JSONType)
    excluded_categories: list[str] = Field(sa_type=JSONType)
    support_hours: dict[str, Any] = Field(sa_type=JSONType)
    reaction: dict[str, Any] = Field(sa_type=JSONType)
    quotas: dict[str, Any] = Field(sa_type=JSONType)
    overage_prices: dict[str, str] = Field(sa_type=JSONType)
    limits: dict[str, Any] = Field(sa_type=JSONType)
    content_hash: str = Field(max_length=64)
    published_at: datetime = Field(sa_type=UTCDateTime)
    # R-E6: new terms reach existing contracts one month after publication.
    applies_to_existing_from: datetime = Field(sa_type=UTCDateTime)


class Licence(SQLModel, table=True):
    __tablename__ = "licence"
    __table_args__ = (UniqueConstraint("product", "reference", name="uq_licence_product_reference"),)

    id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=100, index=True)
    product: str = Field(max_length=64)
    reference: str = Field(max_length=200)
    order_ref: str | None = Field(default=None, max_length=200)
    registered_at: datetime = Field(sa_type=UTCDateTime)


class Contract(SQLModel, table=True):
    __tablename__ = "contract"
    __table_args__ = (
        # One live contract per licence and product, enforced by the database so that concurrent
        # purchases cannot both win.
        Index("uq_contract_live_licence_product", "licence_id", "product_id", unique=True,
              postgresql_where=_LIVE_SQL, sqlite_where=_LIVE_SQL),
        # The expiry run's two index ranges (service/expiry.py): live contracts by term end, and
        # live contracts with a termination scheduled, by its date.
        Index("ix_contract_live_ends_on", "ends_on", "id", postgresql_where=_LIVE_SQL, sqlite_where=_LIVE_SQL),
        Index("ix_contract_live_termination_scheduled", "termination_scheduled_on", "id",
              postgresql_where=_SCHEDULED_SQL, sqlite_where=_SCHEDULED_SQL),
        # A customer's contracts in id order: a listing page (`GET /v1/contracts?customer_id=`,
        # keyset on id) is an index range read in order, not all the customer's contracts sorted.
        Index("ix_contract_customer_id_id", "customer_id", "id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=100)  # ix_contract_customer_id_id
    licence_id: str = Field(foreign_key="licence.id", max_length=40, index=True)
    product_id: str = Field(foreign_key="product.id", max_length=64)
    plan_id: str = Field(max_length=64)
    plan_version: int
    # enum-typed attributes over plain VARCHAR columns: the stored values are the enums' values
    status: ContractStatus = Field(sa_type=EnumText(ContractStatus, 20), index=True)
    mode: ContractMode = Field(sa_type=EnumText(ContractMode, 20))
    term_months: int
    starts_on: date
    ends_on: date
    payment_method: PaymentMethod = Field(sa_type=EnumText(PaymentMethod, 20))
    billing: dict[str, Any] = Field(sa_type=JSONType)
    representatives: dict[str, Any] = Field(sa_type=JSONType)
    order_ref: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_on: date | None = None
    end_reason: str | None = Field(default=None, max_length=40)
    termination_scheduled_on: date | None = None
    terminable_since: date | None = None
    pending_upgrade: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    plan_changed_on: date | None = None
    previous_plan_id: str | None = Field(default=None, max_length=64)


class ContractHistory(SQLModel, table=True):
    """Audit trail: every change of a contract, who made it and why."""

    __tablename__ = "contract_history"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(foreign_key="contract.id", max_length=40, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    action: str = Field(max_length=40)
    from_status: ContractStatus | None = Field(default=None, sa_type=EnumText(ContractStatus, 20))
    to_status: ContractStatus | None = Field(default=None, sa_type=EnumText(ContractStatus, 20))
    actor: str = Field(max_length=200)
    reason: str | None = Field(default=None, sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class UsageRecord(SQLModel, table=True):
    """Quota consumption (R-S4, R-S6); `event_id` makes a repeated report a no-op."""

    __tablename__ = "usage_record"
    __table_args__ = (UniqueConstraint("contract_id", "event_id", name="uq_usage_contract_event"),
                      Index("ix_usage_period", "contract_id", "metric", "period_key"))

    id: str = Field(primary_key=True, max_length=40)
    contract_id: str = Field(foreign_key="contract.id", max_length=40)
    event_id: str = Field(max_length=200)
    metric: str = Field(max_length=64)
    quantity: int
    included: int
    overage: int
    period_key: str = Field(max_length=40)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    reference: str | None = Field(default=None, max_length=200)


class DataDisposition(SQLModel, table=True):
    """R-E9: personal data returned or deleted within 14 days after a contract ends."""

    __tablename__ = "data_disposition"
    __table_args__ = (
        # the ones still to do, by deadline: `?overdue=true` and the gauges on every /metrics scrape
        Index("ix_data_disposition_pending", "due_on", postgresql_where=text("completed_on IS NULL"),
              sqlite_where=text("completed_on IS NULL")),
    )

    contract_id: str = Field(primary_key=True, foreign_key="contract.id", max_length=40)
    customer_id: str = Field(max_length=100, index=True)
    ended_on: date
    due_on: date = Field(index=True)
    instruction: DispositionInstruction | None = Field(default=None, sa_type=EnumText(DispositionInstruction, 10))
    instruction_received_on: date | None = None
    instructed_by: str | None = Field(default=None, max_length=200)
    completed_on: date | None = None
    completed_by: str | None = Field(default=None, max_length=200)


metadata = service_metadata(
    Product.__table__, PlanVersion.__table__, Licence.__table__, Contract.__table__,
    ContractHistory.__table__, UsageRecord.__table__, DataDisposition.__table__,
)
