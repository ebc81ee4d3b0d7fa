"""Filing a ticket, decided before anything is written: the entitlement snapshot, the scope
(R-T7), the due times, the TAM (R-T8), and every row the new ticket needs.

A filing is complete before the first write, so it can be written in one go: by the API with
its `Idempotency-Key` in one statement (shared/atomic_create.py), or inside a unit of work
(mail channel) with the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.tickets.clients import EntitlementsClient
from services.tickets.errors import AttachmentTooLarge, DescriptionTooShort
from services.tickets.models import Attachment, CustomerContact, Ticket, TicketEvent, TicketMessage
from services.tickets.repository.mail import AUTOMATIC_CONTACT_UPSERT
from services.tickets.schemas.tickets import AttachmentIn, TicketIn
from services.tickets.service import policy as policies
from services.tickets.service.contacts import ticket_contact
from services.tickets.service.queue import queue_key
from services.tickets.service.sla import due_times
from services.tickets.service.sla_schedule import warning_at
from services.tickets.settings import TicketsSettings
from shared.atomic_create import Event, Row
from shared.auth import Principal
from shared.ids import new_id


def actor_kind(principal: Principal) -> str:
    return "customer" if principal.customer_id is not None else (
        "agent" if principal.has("tickets:manage") else "system")


def check_attachments(settings: TicketsSettings, attachments: list[AttachmentIn]) -> None:
    for item in attachments:
        if len(item.content()) > settings.max_attachment_bytes:
            raise AttachmentTooLarge(f"{item.filename} exceeds {settings.max_attachment_bytes} bytes")


def new_message(ticket_id: str, at: datetime, author: str, kind: str, visibility: str, body: str, channel: str,
                attachments: list[AttachmentIn] = (), *,  # type: ignore[assignment]
                view: bool = False) -> tuple[TicketMessage, list[Attachment]]:
    """A message and its attachments, not yet added to any session. With `view`, plain
    unvalidated objects that no session can take (for rows written without the ORM; the values
    are validated input)."""
    message = (TicketMessage.model_construct if view else TicketMessage)(
        id=new_id("msg"), ticket_id=ticket_id, at=at, author=author, author_kind=kind, visibility=visibility,
        body=body, channel=channel)
    added = []
    for item in attachments:
        content = item.content()
        added.append((Attachment.model_construct if view else Attachment)(id=new_id("att"), message_id=message.id, filename=item.filename,
                                                content_type=item.content_type, size=len(content), content=content))
    return message, added


def event_data(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """What every `ticket.*` event carries."""
    return {"ticket_id": ticket.id, "customer_id": ticket.customer_id, "product_id": ticket.product_id,
            "subject": ticket.subject, "status": ticket.status, "category": ticket.category,
            "plan_id": ticket.policy["plan_id"], "priority": ticket.priority, "assignee": ticket.assignee,
            "out_of_scope": ticket.out_of_scope, "contact_email": ticket.contact.get("email"),
            "reaction_due_at": ticket.reaction_due_at.isoformat() if ticket.reaction_due_at else None,
            # for the mail channel's wording (a free plan's reaction is an estimate with a limit)
            "plan_name": ticket.policy.get("plan_name"),
            "reaction_contractual": bool(ticket.policy["reaction"].get("contractual", True)),
            "limit_due_at": ticket.limit_due_at.isoformat() if ticket.limit_due_at else None, **extra}


@dataclass
class Filing:
    ticket: Ticket
    message: TicketMessage
    attachments: list[Attachment]
    history: dict[str, Any]  # the `created` entry of the ticket's history
    contact: dict[str, Any] | None  # the e-mail directory entry (R-T1)
    event: Event  # ticket.created

    def rows(self) -> list[Row]:
        """Parents before children (foreign keys)."""
        rows = [Row(Ticket.__table__, _values(self.ticket)),  # type: ignore[attr-defined]
                Row(TicketMessage.__table__, _values(self.message)),  # type: ignore[attr-defined]
                *(Row(Attachment.__table__, _values(a)) for a in self.attachments),  # type: ignore[attr-defined]
                Row(TicketEvent.__table__, self.history)]  # type: ignore[attr-defined]
        if self.contact is not None:
            rows.append(Row(CustomerContact.__table__, self.contact, AUTOMATIC_CONTACT_UPSERT))  # type: ignore[attr-defined]
        return rows


def _values(view: Any) -> dict[str, Any]:
    """The column values of a view built with `model_construct` (every field is set there)."""
    return {name: view.__dict__[name] for name in type(view).model_fields}


async def prepare_filing(settings: TicketsSettings, entitlements: EntitlementsClient, data: TicketIn,
                         principal: Principal, now: datetime) -> Filing:
    """Everything a new ticket is, or the reason it is refused (nothing written either way)."""
    if len(data.description.strip()) < settings.min_description_chars:
        raise DescriptionTooShort(f"describe the problem in at least {settings.min_description_chars} "
                                  "characters: what happened, where, since when (R-T1)")
    check_attachments(settings, data.attachments)
    entitlement = policies.choose_entitlement(await entitlements.entitlements(data.customer_id, data.product),
                                              data.licence_reference)
    policy = policies.snapshot(entitlement)
    out_of_scope, note = policies.scope(policy, data.category)
    due = due_times(policy, now)
    warn = warning_at(policy, now, (), settings.sla_warning_ratio)  # the first SLA instant (monitor.py)
    values = dict(
        id=new_id("tkt"), customer_id=data.customer_id, product_id=data.product,
        licence_reference=policy["licence"], subject=data.subject, description=data.description,
        category=data.category, channel=data.channel, contact=data.contact.model_dump(mode="json"),
        status="new", priority=policies.queue_priority(policy), out_of_scope=out_of_scope, scope_note=note,
        policy=policy, assignee=(policy["tam"] or {}).get("email"),  # R-T8: Advanced tickets go to the TAM
        accepted_at=now, reaction_due_at=due.reaction_due_at, limit_due_at=due.limit_due_at,
        updated_at=now, queue_key="", first_response_at=None, sla_warned_at=None, sla_breached_at=None,
        sla_excused=False, resolved_at=None, closed_at=None,
        sla_next_check_at=min(warn, due.reaction_due_at),
    )
    # Built as a plain, unvalidated view (every value comes from validated input or from here);
    # the sort key needs the other values first.
    values["queue_key"] = queue_key(Ticket.model_construct(**values))
    ticket = Ticket.model_construct(**values)
    message, attachments = new_message(ticket.id, now, principal.sub, actor_kind(principal), "public",
                                       data.description, data.channel, data.attachments, view=True)
    history = {"ticket_id": ticket.id, "at": now, "kind": "created", "actor": principal.sub, "data": {
        "plan_id": policy["plan_id"], "source": policy["source"], "out_of_scope": out_of_scope,
        "reaction_due_at": due.reaction_due_at.isoformat()}}
    return Filing(ticket, message, attachments, history, ticket_contact(ticket, now),
                  Event("ticket.created", event_data(ticket), ticket.id))
