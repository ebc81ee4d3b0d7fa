"""Tables of the webhook endpoints every service keeps in its own database: the endpoints
registered through the API, one delivery per (endpoint, event), and every attempt of a delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.columns import JSONType, UTCDateTime

ENDPOINT_STATUSES = ("enabled", "disabled")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "held")


class WebhookEndpoint(SQLModel, table=True):
    """An external URL that gets this service's events matching `events`, signed with `secret`.
    `secret` is kept in clear: signing needs it (it is shown to its owner only on create and rotate)."""

    __tablename__ = "webhook_endpoint"

    id: str = Field(primary_key=True, max_length=40)
    owner: str = Field(max_length=200, index=True)  # the token `sub` that registered it
    url: str = Field(max_length=2000)
    events: list[str] = Field(sa_type=JSONType)  # fnmatch patterns
    description: str | None = Field(default=None, max_length=500)
    secret: str = Field(max_length=100, repr=False)
    status: str = Field(max_length=10)  # ENDPOINT_STATUSES
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consecutive_failures: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint. `attempts` counts every attempt (the attempt log);
    `budget_used` those since the delivery was created or last replayed (the retry budget)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_event"),
        Index("ix_webhook_delivery_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_webhook_delivery_endpoint_status", "endpoint_id", "status"),
    )

    id: str = Field(primary_key=True, max_length=40)
    endpoint_id: str = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE", max_length=40)
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=JSONType)  # the event envelope, sent as is
    status: str = Field(max_length=10)  # DELIVERY_STATUSES
    attempts: int = 0
    budget_used: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease: str | None = Field(default=None, max_length=40)  # which claim may settle the attempt
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One POST of a delivery: its answer (or transport error) and how long it took."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_delivery.id", ondelete="CASCADE", max_length=40, index=True)
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    duration_ms: int


WEBHOOK_TABLES = (WebhookEndpoint.__table__, WebhookDelivery.__table__,  # type: ignore[attr-defined]
                  WebhookAttempt.__table__)  # type: ignore[attr-defined]
