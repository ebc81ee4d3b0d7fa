"""Request and response models of the tickets API."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from services.tickets.statuses import AuthorKind, Channel, SlaState, TicketStatus
from shared.schemas import Email, StrictModel

Status = TicketStatus


class Contact(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    email: Email
    phone: str | None = Field(default=None, max_length=40)


class AttachmentIn(StrictModel):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$")
    content_type: str = Field(default="application/octet-stream", max_length=100)
    content_base64: str = Field(description="The file, base64-encoded (bounded; 413/422 beyond the limit).")

    @field_validator("content_base64")
    @classmethod
    def _b64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class TicketIn(StrictModel):
    customer_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@\-]+$")
    product: str = Field(min_length=1, max_length=64, description="Support product, e.g. `office365-support`.")
    licence_reference: str | None = Field(default=None, max_length=200)
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    category: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$",
                          description="A benefit key of the plan (e.g. `basic_config_help`), an excluded category, "
                                      "or `other`.")
    channel: Channel = Channel.API
    contact: Contact
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


class MessageIn(StrictModel):
    body: str = Field(min_length=1, max_length=20_000)
    visibility: Literal["public", "internal"] = "public"
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


class RequestDetailsIn(StrictModel):
    body: str = Field(min_length=1, max_length=20_000, description="What the customer should add (R-T2).")


class AssignIn(StrictModel):
    assignee: str | None = Field(max_length=200, description="Agent id, or null to unassign.")


class NoteIn(StrictModel):
    note: str | None = Field(default=None, max_length=2000)


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int


class MessageOut(BaseModel):
    id: str
    at: datetime
    author: str
    author_kind: AuthorKind
    visibility: str
    body: str
    channel: str
    attachments: list[AttachmentOut] = Field(default_factory=list)


class SlaOut(BaseModel):
    state: SlaState
    reaction_due_at: datetime | None
    limit_due_at: datetime | None
    first_response_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    excused: bool
    contractual: bool
    explanation: str | None = Field(default=None, description=(
        "How the reaction deadline is reached, in the plan's local time: hours used per day, pauses, holidays. "
        "Given when one ticket is read (it reflects the pauses so far); not in lists or the create response."))


class TicketOut(BaseModel):
    id: str
    customer_id: str
    product_id: str
    licence_reference: str | None
    subject: str
    description: str
    category: str
    channel: Channel
    contact: dict[str, Any]
    status: Status
    priority: int
    out_of_scope: bool
    scope_note: str | None
    plan: dict[str, Any]
    assignee: str | None
    accepted_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    sla: SlaOut


class TicketDetailOut(TicketOut):
    messages: list[MessageOut]


class HistoryOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    data: dict[str, Any]


class SlaPreviewOut(BaseModel):
    plan_id: str
    accepted_at: datetime
    reaction_due_at: datetime
    limit_due_at: datetime | None
    explanation: str
