"""Inbound e-mail (R-T1: tickets arrive by e-mail to the support address): what one accepted
message becomes. Runs inside the unit of work the SMTP edge opens for it (smtp_listener.py);
every message is kept in `inbound_mail`, raw, with its status and outcome.

- A repeat of a message already accepted (same sender and Message-ID: the sending MTA did not
  see our 250) is recognised and not processed twice.
- Automatic mail (auto-replies, bounces, delivery reports, our own address) is kept as
  `ignored` and never answered, so auto-responders cannot loop with us.
- A reply — `[#tkt_…]` in the subject, or our Message-ID in `In-Reply-To`/`References` — from
  the ticket's contact or from a known contact of the same customer is added to the ticket as the
  customer's message through `TicketService.reply` (so a paused clock resumes, R-T2, and a
  resolved ticket reopens within its window); quoted history is stripped (mail_parse.py). A
  reply to a closed ticket, or to one resolved too long ago, gets an auto-reply saying so.
- A new mail from a known contact (the contact directory, service/contacts.py) files a ticket
  through `TicketService.file`, exactly as the API does (entitlement check, R-T1 description
  length, due times): channel `email`, category `other`. Too short a description gets the
  "please describe" auto-reply and creates nothing; a customer without support for the product
  gets an explanatory auto-reply and the mail stays `unprocessed` for the team.
- Anyone else gets one auto-reply (at most one a day per address, against backscatter) and
  nothing is created. Bulk and list mail is never auto-answered.

Every auto-reply is an event (`mail.auto_reply`), sent through the outbox like all mail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from services.tickets.repository import tickets as ticket_repo
from services.tickets.repository import mail as repo
from services.tickets.errors import (
    DescriptionTooShort, InboundMailNotFound, InboundMailNotPending, NoEntitlement, ReopenWindowOver, TicketClosed,
)
from services.tickets.models import CustomerContact, InboundMail, Ticket
from services.tickets.schemas.tickets import AttachmentIn, Contact, TicketIn
from services.tickets.service.contacts import ContactService
from services.tickets.service.mail_parse import ParsedMail, UnparseableMail, parse, strip_quoted
from services.tickets.service.tickets import TicketService
from shared.auth import Principal
from shared.ids import new_id
from shared.queries import KeysetPage, found
from shared.roles import TICKETS_READ, TICKETS_WRITE

UNKNOWN_SENDER_REPLY_INTERVAL = timedelta(hours=24)
MAX_ATTACHMENTS = 10
MAX_DESCRIPTION = 20_000


@dataclass(frozen=True)
class Received:
    """What became of one accepted message."""

    mail_id: str
    status: str
    outcome: str
    ticket_id: str | None = None
    duplicate: bool = False


def mail_principal(email: str, customer_id: str) -> Principal:
    """Who acts when a mail is processed: the customer, through its address."""
    return Principal(sub=f"mail:{email}", scopes=frozenset({TICKETS_READ, TICKETS_WRITE}), customer_id=customer_id)


def dedupe_key(sender: str, message_id: str) -> str:
    return hashlib.sha256(f"{sender}\n{message_id}".encode("utf-8", "surrogateescape")).hexdigest()


class InboundMailService:
    def __init__(self, tickets: TicketService) -> None:
        self.tickets = tickets
        self.uow, self.session, self.settings = tickets.uow, tickets.session, tickets.settings
        self.contacts = ContactService(tickets.uow)

    # ---- receiving -------------------------------------------------------------------------

    async def receive(self, raw: bytes, envelope_from: str | None) -> Received:
        row = InboundMail(id=new_id("inm"), received_at=self.uow.clock.now(),
                          envelope_from=(envelope_from or "")[:320] or None, size=len(raw), raw=raw,
                          status="processed", outcome="")
        try:
            mail = parse(raw, envelope_from=envelope_from)
        except UnparseableMail as exc:
            return await self._keep(row, "unprocessed", "unparseable", error=str(exc))
        row.from_address, row.subject, row.message_id = mail.from_address[:320], mail.subject or None, mail.message_id
        if mail.message_id:
            row.dedupe_key = dedupe_key(mail.from_address, mail.message_id)
            earlier = await repo.inbound_by_dedupe_key(self.session, row.dedupe_key)
            if earlier is not None:
                return Received(earlier.id, earlier.status, earlier.outcome, earlier.ticket_id, duplicate=True)
        if mail.auto_submitted:
            return await self._keep(row, "ignored", mail.auto_submitted)
        if mail.from_address in self._own_addresses():
            return await self._keep(row, "ignored", "own_address")
        contact = await self.contacts.find(mail.from_address)
        for ref in mail.ticket_refs:
            ticket = await ticket_repo.get_ticket(self.session, ref)
            if ticket is not None and self._may_write(ticket, contact, mail.from_address):
                return await self._reply(row, mail, ticket)
        if contact is None:
            return await self._auto_reply(row, mail, "unknown_sender")
        return await self._open(row, mail, contact)

    async def keep_failed(self, raw: bytes, envelope_from: str | None, error: str) -> Received:
        """A message whose processing failed for good: kept for an operator, never dropped."""
        row = InboundMail(id=new_id("inm"), received_at=self.uow.clock.now(),
                          envelope_from=(envelope_from or "")[:320] or None, size=len(raw), raw=raw,
                          status="unprocessed", outcome="error")
        try:
            mail = parse(raw, envelope_from=envelope_from)
            row.from_address, row.subject = mail.from_address[:320], mail.subject or None
            row.message_id = mail.message_id
            if mail.message_id:
                row.dedupe_key = dedupe_key(mail.from_address, mail.message_id)
        except UnparseableMail:
            pass
        return await self._keep(row, "unprocessed", "error", error=error)

    def _own_addresses(self) -> set[str]:
        return {self.settings.support_mailbox, parseaddr(self.settings.mail_from)[1].lower()}

    @staticmethod
    def _may_write(ticket: Ticket, contact: CustomerContact | None, email: str) -> bool:
        """The ticket's contact, or a known contact of the same customer."""
        return (str(ticket.contact.get("email") or "").lower() == email
                or (contact is not None and contact.customer_id == ticket.customer_id))

    async def _reply(self, row: InboundMail, mail: ParsedMail, ticket: Ticket) -> Received:
        ticket_id, customer_id = ticket.id, ticket.customer_id  # read before a savepoint may expire them
        row.customer_id = customer_id
        attachments, note = self._attachments(mail, row.id)
        body = (strip_quoted(mail.text) or "(no text)") + note
        try:
            async with self.session.begin_nested():  # a refusal must not leave half a message behind
                await self.tickets.reply(ticket_id, mail_principal(mail.from_address, customer_id), body, "public",
                                         attachments, channel="email")
        except TicketClosed:
            return await self._auto_reply(row, mail, "ticket_closed", ticket_id=ticket_id)
        except ReopenWindowOver:
            return await self._auto_reply(row, mail, "reopen_window_over", ticket_id=ticket_id)
        return await self._keep(row, "processed", "reply_added", ticket_id=ticket_id)

    async def _open(self, row: InboundMail, mail: ParsedMail, contact: CustomerContact) -> Received:
        row.customer_id = contact.customer_id
        attachments, note = self._attachments(mail, row.id)
        description = mail.text
        if len(description) + len(note) > MAX_DESCRIPTION:
            description = description[:MAX_DESCRIPTION - len(note) - 200] + (
                f"\n\n[Shortened; the whole e-mail is kept as inbound mail {row.id}.]")
        data = TicketIn(
            customer_id=contact.customer_id, product=contact.product,
            subject=(mail.subject_without_refs or "(no subject)")[:300], description=description + note,
            category="other", channel="email", attachments=attachments,
            contact=Contact(name=contact.name or mail.from_name or mail.from_address, email=mail.from_address))
        try:
            async with self.session.begin_nested():
                ticket = await self.tickets.file(data, mail_principal(mail.from_address, contact.customer_id))
                ticket_id = ticket.id
        except DescriptionTooShort:
            return await self._auto_reply(row, mail, "description_too_short")
        except NoEntitlement as exc:
            return await self._auto_reply(row, mail, "no_entitlement", status="unprocessed", error=exc.detail,
                                          product=contact.product)
        return await self._keep(row, "processed", "ticket_created", ticket_id=ticket_id)

    def _attachments(self, mail: ParsedMail, mail_id: str) -> tuple[list[AttachmentIn], str]:
        """The mail's attachments within the ticket limits; a note names those left out."""
        kept, left_out = [], []
        for item in mail.attachments:
            too_large = len(item.content) > self.settings.max_attachment_bytes
            if not item.content or too_large or len(kept) >= MAX_ATTACHMENTS:
                left_out.append(item.filename)
                continue
            kept.append(AttachmentIn(filename=item.filename, content_type=item.content_type,
                                     content_base64=item.base64()))
        note = (f"\n\n[Attachments not added (empty, too large or too many); they are kept with the original "
                f"e-mail {mail_id}: {', '.join(left_out)}]") if left_out else ""
        return kept, note

    async def _auto_reply(self, row: InboundMail, mail: ParsedMail, kind: str, *, ticket_id: str | None = None,
                          status: str = "processed", error: str | None = None, product: str | None = None) -> Received:
        outcome = f"auto_reply:{kind}"
        if mail.bulk:
            return await self._keep(row, status, f"no_reply_bulk:{kind}"[:40], ticket_id=ticket_id, error=error)
        if kind == "unknown_sender" and await repo.recent_auto_replies(
                self.session, mail.from_address, outcome, row.received_at - UNKNOWN_SENDER_REPLY_INTERVAL):
            return await self._keep(row, status, f"no_reply_repeat:{kind}"[:40], error=error)
        self.uow.events.emit("mail.auto_reply", {
            "email": mail.from_address, "kind": kind, "subject": mail.subject, "in_reply_to": mail.message_id,
            "ticket_id": ticket_id, "customer_id": row.customer_id, "product": product,
            "min_description_chars": self.settings.min_description_chars, "inbound_mail_id": row.id,
        }, subject=row.id)
        return await self._keep(row, status, outcome, ticket_id=ticket_id, error=error)

    async def _keep(self, row: InboundMail, status: str, outcome: str, *, ticket_id: str | None = None,
                    error: str | None = None) -> Received:
        row.status, row.outcome, row.ticket_id = status, outcome, ticket_id
        row.error = error[:4000] if error else None
        self.session.add(row)
        await self.session.flush()
        return Received(row.id, status, outcome, ticket_id)

    # ---- the operator's side ----------------------------------------------------------------

    async def get(self, mail_id: str, *, for_update: bool = False) -> InboundMail:
        """One stored mail, raw bytes included."""
        return found(await repo.get_inbound(self.session, mail_id, for_update=for_update),
                     InboundMailNotFound(f"inbound mail {mail_id!r} does not exist"))

    async def listing(self, *, status: str | None, after: str | None, limit: int) -> KeysetPage[InboundMail]:
        """Newest first, without the raw bytes."""
        return await repo.inbound(self.session, status=status, after=after, limit=limit)

    async def dismiss(self, mail_id: str, principal: Principal) -> InboundMail:
        """An operator has dealt with an unprocessed mail (it stays stored)."""
        row = await self.get(mail_id, for_update=True)
        if row.status != "unprocessed":
            raise InboundMailNotPending(f"inbound mail {mail_id} is {row.status}")
        row.status, row.dismissed_at, row.dismissed_by = "dismissed", self.uow.clock.now(), principal.sub
        await self.session.flush()
        return row
