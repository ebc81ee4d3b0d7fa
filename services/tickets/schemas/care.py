"""Request and response models of callbacks (R-S2), remote-help sessions (R-S4, R-S5) and
complaints (R-T9)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from services.tickets.statuses import CallbackStatus, CallOutcome, ComplaintStatus
from shared.schemas import Email, StrictModel

_CUSTOMER = r"^[A-Za-z0-9._:@\-]+$"
_PHONE = r"^\+?[0-9][0-9 ()\-]{3,38}$"

Outcome = CallOutcome


# ---- callbacks (R-S2) ------------------------------------------------------------------------

class CallbackIn(StrictModel):
    customer_id: str = Field(min_length=1, max_length=100, pattern=_CUSTOMER)
    product: str = Field(min_length=1, max_length=64, description="Support product, e.g. `sage-warranty`.")
    ticket_id: str | None = Field(default=None, max_length=40, description="The ticket the call is about, if any.")
    calling_number: str = Field(pattern=_PHONE, description="The number the customer called from: attempts 1 and 2.")
    order_number: str = Field(pattern=_PHONE, description="The phone number given in the order: attempt 3.")
    contact_email: Email = Field(description="The order's e-mail address: told of every failed attempt.")


class AttemptIn(StrictModel):
    outcome: Outcome
    note: str | None = Field(default=None, max_length=2000)


class PlannedAttemptOut(BaseModel):
    attempt: int
    number: str
    target: Literal["calling_number", "order_number"]
    outcome: Outcome | None = Field(default=None, description="Null while the attempt is still to be made.")
    at: datetime | None = None
    agent: str | None = None
    note: str | None = None


class CallbackOut(BaseModel):
    id: str
    customer_id: str
    product_id: str
    ticket_id: str | None
    plan_id: str
    contract_id: str | None
    calling_number: str
    order_number: str
    contact_email: str
    status: CallbackStatus
    attempts: list[PlannedAttemptOut] = Field(description="The three planned attempts with their outcomes so far.")
    next_attempt: PlannedAttemptOut | None = Field(description="The attempt to make next; null when done.")
    attempts_left: int
    requested_by: str
    requested_at: datetime
    completed_at: datetime | None


# ---- remote-help sessions (R-S4, R-S5) -------------------------------------------------------

class RemoteSessionIn(StrictModel):
    started_at: AwareDatetime = Field(description="When the session started (ISO 8601 with offset); not in the "
                                                  "future. With the ticket, it identifies the session.")
    minutes: int = Field(gt=0, le=480, description="The session's length in whole minutes.")
    program: str = Field(min_length=1, max_length=200, description="The one program the customer named (R-S4).")


class MetricUsageOut(BaseModel):
    quantity: int
    included: int
    overage: int


class RemoteSessionOut(BaseModel):
    id: str
    ticket_id: str
    customer_id: str
    contract_id: str
    plan_id: str
    program: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    agent: str
    period_key: str = Field(description="The quota period (calendar month) the session was counted in.")
    sessions: MetricUsageOut = Field(description="`remote_help_sessions` as entitlements counted it.")
    minutes_usage: MetricUsageOut = Field(description="`remote_help_minutes` as entitlements counted it; minutes "
                                                      "beyond the quota are overage, billed on the next invoice "
                                                      "(R-B8).")
    complaint_deadline: datetime = Field(description="A complaint about this session is accepted until then (R-S5).")
    recorded_at: datetime


# ---- complaints (R-T9) -----------------------------------------------------------------------

class ComplaintIn(StrictModel):
    customer_id: str = Field(min_length=1, max_length=100, pattern=_CUSTOMER)
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    ticket_id: str | None = Field(default=None, max_length=40)
    remote_session_id: str | None = Field(default=None, max_length=40,
                                          description="A complaint about a remote-help session (R-S5 window).")
    received_at: AwareDatetime | None = Field(default=None, description="When the complaint reached the seller "
                                              "(e.g. an e-mail the CRM forwards); defaults to now; not for "
                                              "customers, not in the future.")


class ExtendIn(StrictModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the case is especially complex.")
    expected_on: date = Field(description="The expected answer date: after the due date, at most 60 days from "
                                          "receipt.")


class AnswerIn(StrictModel):
    answer: str = Field(min_length=1, max_length=20_000)


class ComplaintOut(BaseModel):
    id: str
    customer_id: str
    subject: str
    description: str
    ticket_id: str | None
    remote_session_id: str | None
    filed_by: str
    received_at: datetime
    status: ComplaintStatus
    due_on: date = Field(description="30 days from receipt (R-T9).")
    extended_to: date | None = Field(description="The expected date named in the one extension, if any.")
    extension_reason: str | None
    answer_due_on: date = Field(description="The date that counts now: `extended_to` or `due_on`.")
    overdue: bool = Field(description="Not answered and past `answer_due_on` (as of today, or `as_of` in lists).")
    answer: str | None
    answered_at: datetime | None
    answered_to: str | None = Field(description="The customer e-mail the answer went to.")
