"""Tables every service has in its own database: outbox, inbox and idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.columns import JSONType, UTCDateTime


class OutboxMessage(SQLModel, table=True):
    """One event for one sink. Written in the transaction of the change it reports (DESIGN.md)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "sink", name="uq_outbox_event_sink"),
        Index("ix_outbox_pending", "next_attempt_at",
              postgresql_where=text("delivered_at IS NULL AND failed_at IS NULL"),
              sqlite_where=text("delivered_at IS NULL AND failed_at IS NULL")),
        # dead letters, counted on every /metrics scrape (the table keeps every delivered row)
        Index("ix_outbox_dead", "failed_at", postgresql_where=text("failed_at IS NOT NULL"),
              sqlite_where=text("failed_at IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=100)
    sink: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=JSONType)
    request_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)


class InboxEvent(SQLModel, table=True):
    """An event this service has applied; a second delivery of the same id is a no-op."""

    __tablename__ = "inbox"

    event_id: str = Field(primary_key=True, max_length=40)
    event_type: str = Field(max_length=100)
    source: str = Field(max_length=100)
    outcome: str = Field(max_length=20)
    received_at: datetime = Field(sa_type=UTCDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """The first successful response to a POST under an Idempotency-Key, per caller."""

    __tablename__ = "idempotency_key"

    owner: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    fingerprint: str = Field(max_length=64)
    status_code: int | None = None
    response_body: Any = Field(default=None, sa_type=JSONType, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


INFRA_TABLES = (OutboxMessage.__table__, InboxEvent.__table__, IdempotencyRecord.__table__)
