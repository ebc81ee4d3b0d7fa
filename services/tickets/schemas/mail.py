"""Request and response models of the e-mail channel: the contact directory and inbound mail."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.tickets.statuses import InboundStatus
from shared.schemas import StrictModel



class ContactIn(StrictModel):
    customer_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@\-]+$")
    product: str = Field(min_length=1, max_length=64,
                         description="Support product of the tickets this address opens by e-mail, e.g. "
                                     "`office365-support`.")
    name: str | None = Field(default=None, max_length=200)


class ContactOut(BaseModel):
    email: str
    customer_id: str
    product: str
    name: str | None
    source: Literal["api", "crm"] = Field(description="`api`: remembered from a ticket filed; `crm`: set by the CRM.")
    created_at: datetime
    updated_at: datetime


class InboundMailOut(BaseModel):
    id: str
    received_at: datetime
    envelope_from: str | None
    from_address: str | None
    subject: str | None
    message_id: str | None
    size: int = Field(description="Bytes of the raw message (`GET …/raw`).")
    status: InboundStatus
    outcome: str = Field(description="What became of it: `ticket_created`, `reply_added`, `auto_reply:<kind>`, "
                                     "`unparseable`, `error`, `auto_submitted:<value>`, `bounce:<sign>`, …")
    ticket_id: str | None
    customer_id: str | None
    error: str | None
    dismissed_at: datetime | None
    dismissed_by: str | None
