"""Complaints (R-T9, R-S5).

Filed electronically, by the customer itself or by the CRM for it; answered without undue delay,
at the latest 30 days from receipt (`due_on`, see service/windows.py). In especially complex
cases an agent names an expected date once, at most 60 days from receipt, while the 30 days still
run; the customer is told (`complaint.extended`). The answer goes to the customer's *current*
e-mail, looked up in entitlements when it is sent (`complaint.answered`); so does the extension
notice. A complaint about a remote-help session is accepted only until the session's deadline
(R-S5, stored on the session); afterwards the session counts as properly delivered.

`open` → (`extended`) → `answered`. Overdue: not answered and past the due date (the extended
date when extended).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.tickets.repository import care as repo
from services.tickets.clients import EntitlementsClient
from services.tickets.errors import (
    ComplaintAlreadyAnswered, ComplaintAlreadyExtended, ComplaintNotFound, ComplaintWindowClosed, ExtensionNotLater,
    ExtensionTooLate, ExtensionTooLong, InstantInFuture, RemoteSessionNotFound,
)
from services.tickets.models import Complaint
from services.tickets.schemas.care import ComplaintIn
from services.tickets.service.tickets import TicketService
from services.tickets.service.windows import answer_due_on, latest_expected_on
from services.tickets.statuses import ComplaintStatus
from shared.auth import Principal
from shared.clock import local_date
from shared.errors import Forbidden, Unprocessable
from shared.ids import new_id
from shared.queries import found
from shared.uow import UnitOfWork


class ComplaintService:
    def __init__(self, tickets: TicketService, entitlements: EntitlementsClient) -> None:
        self.tickets, self.entitlements = tickets, entitlements
        self.uow: UnitOfWork = tickets.uow
        self.session = tickets.session

    def today(self) -> date:
        return local_date(self.uow.clock.now())

    async def get(self, complaint_id: str, principal: Principal, *, for_update: bool = False) -> Complaint:
        return found(await repo.get_complaint(self.session, complaint_id, for_update=for_update),
                     ComplaintNotFound(f"complaint {complaint_id!r} does not exist"), seen_by=principal)

    async def file(self, data: ComplaintIn, principal: Principal) -> Complaint:
        principal.ensure_may_see(data.customer_id, "customer")
        now = self.uow.clock.now()
        if data.received_at is not None and principal.is_customer:
            raise Forbidden("the time of receipt is set by the seller (CRM), not by the customer")
        received_at = (data.received_at or now).astimezone(now.tzinfo)
        if received_at > now:
            raise InstantInFuture(f"received_at {received_at.isoformat()} is in the future")
        ticket_id = data.ticket_id
        if ticket_id is not None:
            ticket = await self.tickets.visible(ticket_id, principal)
            if ticket.customer_id != data.customer_id:
                raise Unprocessable(f"ticket {ticket_id} is not a ticket of {data.customer_id}")
        if data.remote_session_id is not None:
            remote = await repo.get_remote_session(self.session, data.remote_session_id)
            if remote is None or remote.customer_id != data.customer_id:  # the customer's own only
                raise RemoteSessionNotFound(f"customer {data.customer_id} has no remote-help session "
                                            f"{data.remote_session_id!r}")
            if ticket_id is not None and ticket_id != remote.ticket_id:
                raise Unprocessable(f"session {remote.id} belongs to ticket {remote.ticket_id}, not {ticket_id}")
            ticket_id = remote.ticket_id
            if received_at > remote.complaint_deadline:
                raise ComplaintWindowClosed(
                    f"the session of {remote.started_at.isoformat()} could be complained about until "
                    f"{remote.complaint_deadline.isoformat()} (the end of that business day, R-S5); it counts as "
                    "properly delivered")
        complaint = Complaint(
            id=new_id("cmp"), customer_id=data.customer_id, subject=data.subject, description=data.description,
            ticket_id=ticket_id, remote_session_id=data.remote_session_id, filed_by=principal.sub,
            received_at=received_at, due_on=answer_due_on(received_at), status=ComplaintStatus.OPEN, updated_at=now)
        self.session.add(complaint)
        await self.session.flush()
        self.uow.events.emit("complaint.received", self.event_data(complaint), subject=complaint.id)
        return complaint

    async def extend(self, complaint_id: str, principal: Principal, reason: str, expected_on: date) -> Complaint:
        """R-T9: once only, within the 30 days, to a date after the due date and at most 60 days
        from receipt; the customer is told at its current e-mail."""
        complaint = await self.get(complaint_id, principal, for_update=True)
        if complaint.status == ComplaintStatus.ANSWERED:
            raise ComplaintAlreadyAnswered(f"complaint {complaint.id} was answered on {complaint.answered_at:%Y-%m-%d}")
        if complaint.extended_to is not None:
            raise ComplaintAlreadyExtended(f"complaint {complaint.id} was already extended to "
                                           f"{complaint.extended_to} (R-T9 allows one expected date)")
        if self.today() > complaint.due_on:
            raise ExtensionTooLate(f"complaint {complaint.id} was due on {complaint.due_on}; an expected date had "
                                   "to be named within the 30 days")
        latest = latest_expected_on(complaint.received_at)
        if expected_on > latest:
            raise ExtensionTooLong(f"received on {local_date(complaint.received_at)}: the expected date may be "
                                   f"{latest} at the latest (60 days, R-T9)")
        if expected_on <= complaint.due_on:
            raise ExtensionNotLater(f"{expected_on} is not after the due date {complaint.due_on}")
        email = await self._email(complaint)
        now = self.uow.clock.now()
        complaint.status, complaint.extended_to, complaint.extension_reason = "extended", expected_on, reason
        complaint.extended_at, complaint.extended_by, complaint.updated_at = now, principal.sub, now
        await self.session.flush()
        self.uow.events.emit("complaint.extended", self.event_data(complaint, reason=reason, email=email),
                             subject=complaint.id)
        return complaint

    async def answer(self, complaint_id: str, principal: Principal, answer: str) -> Complaint:
        complaint = await self.get(complaint_id, principal, for_update=True)
        if complaint.status == ComplaintStatus.ANSWERED:
            raise ComplaintAlreadyAnswered(f"complaint {complaint.id} was answered on {complaint.answered_at:%Y-%m-%d}")
        email = await self._email(complaint)
        now = self.uow.clock.now()
        complaint.status, complaint.answer, complaint.answered_at = "answered", answer, now
        complaint.answered_by, complaint.answered_to, complaint.updated_at = principal.sub, email, now
        await self.session.flush()
        self.uow.events.emit("complaint.answered", self.event_data(
            complaint, answer=answer, email=email, in_time=local_date(now) <= (complaint.extended_to or
                                                                                complaint.due_on)),
            subject=complaint.id)
        return complaint

    async def _email(self, complaint: Complaint) -> str | None:
        """The customer's current e-mail (R-T9): from entitlements (the customer's representative
        on the contract the complaint concerns, else its newest active contract); when the customer
        has no contract, the contact of the ticket the complaint is about."""
        contract_id = None
        ticket = None
        if complaint.ticket_id is not None:
            ticket = await self.tickets.get(complaint.ticket_id)
            contract_id = ticket.policy.get("contract_id")
        email = await self.entitlements.customer_email(complaint.customer_id, contract_id)
        if email is None and ticket is not None:
            email = ticket.contact.get("email")
        return email

    async def listing(self, principal: Principal, *, customer_id: str | None, status: str | None,
                      overdue_on: date | None, limit: int) -> list[Complaint]:
        customer_id = principal.customer_filter(customer_id)
        return list(await repo.complaints(self.session, customer_id=customer_id, status=status,
                                          overdue_on=overdue_on, limit=limit))

    @staticmethod
    def event_data(complaint: Complaint, **extra: Any) -> dict[str, Any]:
        return {"complaint_id": complaint.id, "customer_id": complaint.customer_id, "subject": complaint.subject,
                "ticket_id": complaint.ticket_id, "remote_session_id": complaint.remote_session_id,
                "status": complaint.status, "received_at": complaint.received_at.isoformat(),
                "due_on": complaint.due_on.isoformat(),
                "extended_to": complaint.extended_to.isoformat() if complaint.extended_to else None, **extra}
