"""Tables of the tickets service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from services.tickets.statuses import (
    AuthorKind, CallbackStatus, CallOutcome, Channel, ComplaintStatus, InboundStatus, OutageKind, TicketStatus,
)
from shared.columns import EnumText, JSONType, UTCDateTime
from shared.metadata import service_metadata


_NEXT_CHECK = text("sla_next_check_at IS NOT NULL")
_IN_QUEUE = text("status IN ('new', 'open', 'awaiting_customer')")  # the agent queue's default statuses


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_queue", "status", "queue_key"),
                      # the SLA scan's index range (service/monitor.py); only tickets with a check to come
                      Index("ix_ticket_sla_next_check", "sla_next_check_at", postgresql_where=_NEXT_CHECK,
                            sqlite_where=_NEXT_CHECK),
                      # the agent queue's pages as index ranges in `queue_key` order: (status, queue_key)
                      # cannot give that order across three statuses, and the closed history would be sorted
                      Index("ix_ticket_queue_open", "queue_key", postgresql_where=_IN_QUEUE, sqlite_where=_IN_QUEUE))

    id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=100, index=True)
    product_id: str = Field(max_length=64)
    licence_reference: str | None = Field(default=None, max_length=200)
    subject: str = Field(max_length=300)
    description: str = Field(sa_type=Text)
    category: str = Field(max_length=64)
    channel: Channel = Field(sa_type=EnumText(Channel, 20))
    contact: dict[str, Any] = Field(sa_type=JSONType)
    status: TicketStatus = Field(sa_type=EnumText(TicketStatus, 20), index=True)
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
    # The next instant the SLA scan must look at this ticket: its warning instant, else its
    # reaction deadline; None when no reaction clock runs (service/sla_schedule.py)
    sla_next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
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
    author_kind: AuthorKind = Field(sa_type=EnumText(AuthorKind, 20))
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
    kind: OutageKind = Field(sa_type=EnumText(OutageKind, 20))
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    description: str = Field(sa_type=Text)
    products: list[str] = Field(default_factory=list, sa_type=JSONType)  # empty: every product
    declared_by: str = Field(max_length=200)
    declared_at: datetime = Field(sa_type=UTCDateTime)


class CallbackRequest(SQLModel, table=True):
    """A callback the customer asked for (R-S2): three planned attempts, two to the number the call
    came from and one to the order's number; failed attempts are told to the order's e-mail."""

    __tablename__ = "callback_request"

    id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=100, index=True)
    product_id: str = Field(max_length=64)
    ticket_id: str | None = Field(default=None, foreign_key="ticket.id", max_length=40, index=True)
    plan_id: str = Field(max_length=64)  # the plan whose `callback` benefit allowed it
    contract_id: str | None = Field(default=None, max_length=40)
    calling_number: str = Field(max_length=40)
    order_number: str = Field(max_length=40)
    contact_email: str = Field(max_length=320)  # the order's e-mail address
    # The attempt plan: [{"attempt": 1, "number": "...", "target": "calling_number"}, ...]
    attempt_plan: list[dict[str, Any]] = Field(sa_type=JSONType)
    status: CallbackStatus = Field(sa_type=EnumText(CallbackStatus, 20), index=True)
    requested_by: str = Field(max_length=200)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CallbackAttempt(SQLModel, table=True):
    __tablename__ = "callback_attempt"
    __table_args__ = (UniqueConstraint("callback_id", "attempt", name="uq_callback_attempt_number"),)

    id: int | None = Field(default=None, primary_key=True)
    callback_id: str = Field(foreign_key="callback_request.id", max_length=40, index=True)
    attempt: int  # 1..3, in plan order
    number: str = Field(max_length=40)
    target: str = Field(max_length=20)  # calling_number | order_number
    outcome: CallOutcome = Field(sa_type=EnumText(CallOutcome, 20))
    note: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(sa_type=UTCDateTime)
    agent: str = Field(max_length=200)


class RemoteSession(SQLModel, table=True):
    """A remote-help session on a ticket (R-S4); its quota is consumed in entitlements, and a
    complaint about it is accepted until `complaint_deadline` (R-S5)."""

    __tablename__ = "remote_session"

    id: str = Field(primary_key=True, max_length=40)  # derived from (ticket, start): see service
    ticket_id: str = Field(foreign_key="ticket.id", max_length=40, index=True)
    customer_id: str = Field(max_length=100, index=True)
    contract_id: str = Field(max_length=40)
    plan_id: str = Field(max_length=64)
    program: str = Field(max_length=200)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime = Field(sa_type=UTCDateTime)
    minutes: int
    agent: str = Field(max_length=200)
    period_key: str = Field(max_length=20)  # the quota period entitlements counted it in
    sessions_included: int
    sessions_overage: int
    minutes_included: int
    minutes_overage: int
    usage_ids: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # metric → entitlements usage id
    complaint_deadline: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class Complaint(SQLModel, table=True):
    """A formal complaint (R-T9): answered within 30 days of receipt, or by one named expected
    date at most 60 days from receipt."""

    __tablename__ = "complaint"

    id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=100, index=True)
    subject: str = Field(max_length=300)
    description: str = Field(sa_type=Text)
    ticket_id: str | None = Field(default=None, foreign_key="ticket.id", max_length=40, index=True)
    remote_session_id: str | None = Field(default=None, foreign_key="remote_session.id", max_length=40)
    filed_by: str = Field(max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime)
    due_on: date  # the 30th day after receipt (Europe/Warsaw)
    status: ComplaintStatus = Field(sa_type=EnumText(ComplaintStatus, 20), index=True)
    extension_reason: str | None = Field(default=None, sa_type=Text)
    extended_to: date | None = None  # the expected date named in an extension
    extended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    extended_by: str | None = Field(default=None, max_length=200)
    answer: str | None = Field(default=None, sa_type=Text)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_by: str | None = Field(default=None, max_length=200)
    answered_to: str | None = Field(default=None, max_length=320)  # the e-mail the answer went to
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CustomerContact(SQLModel, table=True):
    """The contact directory of the e-mail channel: who may write to the support address, for
    which customer and product. Filled from every ticket filed (source `api`) and managed by the
    CRM (source `crm`, authoritative: automatic filling never changes a CRM entry)."""

    __tablename__ = "customer_contact"

    email: str = Field(primary_key=True, max_length=320)  # lower case
    customer_id: str = Field(max_length=100, index=True)
    product: str = Field(max_length=64)  # the default product of tickets opened by mail
    name: str | None = Field(default=None, max_length=200)
    source: str = Field(max_length=10)  # api | crm
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class InboundMail(SQLModel, table=True):
    """Every message the SMTP listener accepted, raw, with what became of it: `processed`,
    `ignored` (auto-submitted or a bounce: never answered, to avoid mail loops), `unprocessed`
    (for an operator: unparseable, failed, or from a customer without support) or `dismissed`
    (an operator has dealt with it). Mail is never dropped."""

    __tablename__ = "inbound_mail"
    __table_args__ = (Index("ix_inbound_mail_status_received", "status", "received_at"),)

    id: str = Field(primary_key=True, max_length=40)
    received_at: datetime = Field(sa_type=UTCDateTime)
    envelope_from: str | None = Field(default=None, max_length=320)
    from_address: str | None = Field(default=None, max_length=320, index=True)
    subject: str | None = Field(default=None, max_length=300)
    message_id: str | None = Field(default=None, max_length=500)
    # sha256 of sender and Message-ID: a message the sending MTA delivers again is accepted once
    dedupe_key: str | None = Field(default=None, max_length=64, unique=True)
    size: int
    raw: bytes = Field(sa_type=LargeBinary)
    status: InboundStatus = Field(sa_type=EnumText(InboundStatus, 20))
    outcome: str = Field(max_length=40)
    ticket_id: str | None = Field(default=None, foreign_key="ticket.id", max_length=40, index=True)
    customer_id: str | None = Field(default=None, max_length=100)
    error: str | None = Field(default=None, sa_type=Text)
    dismissed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dismissed_by: str | None = Field(default=None, max_length=200)


metadata = service_metadata(
    Ticket.__table__, TicketPause.__table__, TicketMessage.__table__, Attachment.__table__,
    TicketEvent.__table__, OutageWindow.__table__,
    CallbackRequest.__table__, CallbackAttempt.__table__, RemoteSession.__table__, Complaint.__table__,
    CustomerContact.__table__, InboundMail.__table__,
)
