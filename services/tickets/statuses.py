"""The tickets service's statuses and kinds: one `StrEnum` each, values as stored and sent on the wire."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    API = "api"
    EMAIL = "email"
    PHONE = "phone"
    PORTAL = "portal"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class SlaState(StrEnum):
    RUNNING = "running"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    PAUSED = "paused"
    NONE = "none"


class AuthorKind(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


class OutageKind(StrEnum):
    FORCE_MAJEURE = "force_majeure"  # R-T6
    SECURITY_PAUSE = "security_pause"  # R-T10


class CallbackStatus(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    EXHAUSTED = "exhausted"


class CallOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    EXTENDED = "extended"
    ANSWERED = "answered"


class InboundStatus(StrEnum):
    PROCESSED = "processed"
    UNPROCESSED = "unprocessed"
    IGNORED = "ignored"
    DISMISSED = "dismissed"
