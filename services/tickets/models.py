"""Tables of the tickets service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from shared.columns import JSONType, UTCDateTime
from shared.metadata import service_metadata


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_queue", "status", "queue_key"),)

    id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=100, index=True)
    product_id: str = Field(max_length=64)
    licence_reference: str | None = Field(default=None, max_length=200)
    subject: str = Field(max_length=300)
    description: str = Field(sa_type=Text)
    category: str = Field(max_length=64)
    channel: str = Field(max_length=20)
    contact: dict[str, Any] = Field(sa_type=JSONType)
    status: str = Field(max_length=20, index=True)
    priority: int = 0  # 1: priority dialing / VIP / Advanced first (R-S3)
    out_of_scope: bool = False  # R-T7
    scope_note: str | None = Field(default=None, max_length=500)
    # The plan and SLA policy in force when the ticket was accepted (a snapshot, DESIGN.md)
    policy: dict[str, Any] = Field(sa_type=JSONType)
    assignee: str | None = Field(default=None, max_length=200, index=True)
    accepted_at: datetime = Field(sa_type=UTCDateTime)
    reaction_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    limit_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_excused: bool = False  # breach inside a force-majeure or security-pause window (R-T6, R-T10)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # Sort key of the agent queue: priority, then time to breach, then id (service/queue.py)
    queue_key: str = Field(max_length=80)


class TicketPause(SQLModel, table=True):
    """A stretch of time the ticket waited for the customer: the SLA clock stood still (R-T2)."""

    __tablename__ = "ticket_pause"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=40, index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketMessage(SQLModel, table=True):
    __tablename__ = "ticket_message"

    id: str = Field(primary_key=True, max_length=40)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=40, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    author: str = Field(max_length=200)
    author_kind: str = Field(max_length=20)  # agent | customer | system
    visibility: str = Field(max_length=10)  # public | internal (never shown to customers)
    body: str = Field(sa_type=Text)
    channel: str = Field(max_length=20)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: str = Field(primary_key=True, max_length=40)
    message_id: str = Field(foreign_key="ticket_message.id", max_length=40, index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    content: bytes = Field(sa_type=LargeBinary)


class TicketEvent(SQLModel, table=True):
    """The full history of a ticket."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=40, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class OutageWindow(SQLModel, table=True):
    """Force majeure (R-T6) or a security pause (R-T10): breaches inside are excused, not erased."""

    __tablename__ = "outage_window"

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=20)  # force_majeure | security_pause
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    description: str = Field(sa_type=Text)
    products: list[str] = Field(default_factory=list, sa_type=JSONType)  # empty: every product
    declared_by: str = Field(max_length=200)
    declared_at: datetime = Field(sa_type=UTCDateTime)


metadata = service_metadata(
    Ticket.__table__, TicketPause.__table__, TicketMessage.__table__, Attachment.__table__,
    TicketEvent.__table__, OutageWindow.__table__,
)
