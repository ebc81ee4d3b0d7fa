"""The contact directory of the e-mail channel: which address writes for which customer and
product (R-T1: tickets arrive by e-mail to the support address).

Two sources fill it. Every ticket filed remembers its contact (`api`), so a customer who filed
once can write by e-mail afterwards; the latest ticket wins. The CRM manages entries explicitly
(`crm`, `PUT /v1/contacts/{email}`); a CRM entry is authoritative and automatic filling never
changes it. Addresses are kept in lower case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.tickets.repository import mail as repo
from services.tickets.errors import ContactNotFound
from services.tickets.models import CustomerContact, Ticket
from shared.auth import Principal
from shared.queries import KeysetPage, found
from shared.uow import UnitOfWork


def normalise_address(email: str) -> str:
    return email.strip().lower()


def ticket_contact(ticket: Ticket, now: datetime) -> dict[str, Any] | None:
    """The directory entry a filed ticket leaves (its contact may write by e-mail from now on);
    written with `repo.AUTOMATIC_CONTACT_UPSERT`, so a CRM entry is never changed."""
    email = ticket.contact.get("email")
    if not email:
        return None
    return {"email": normalise_address(email), "customer_id": ticket.customer_id, "product": ticket.product_id,
            "name": ticket.contact.get("name"), "source": "api", "created_at": now, "updated_at": now}


class ContactService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.session = uow.session

    async def find(self, email: str) -> CustomerContact | None:
        return await repo.get_contact(self.session, normalise_address(email))

    async def get(self, email: str) -> CustomerContact:
        return found(await self.find(email), ContactNotFound(f"{email} is not in the contact directory"))

    async def visible(self, email: str, principal: Principal) -> CustomerContact:
        """A customer sees only its own customer's entries (another's answers like a missing one)."""
        return found(await self.find(email), ContactNotFound(f"{email} is not in the contact directory"),
                     seen_by=principal)

    async def put(self, email: str, customer_id: str, product: str, name: str | None) -> CustomerContact:
        """The CRM's entry: created or replaced (idempotent)."""
        now = self.uow.clock.now()
        await repo.upsert_contact(self.session, {
            "email": normalise_address(email), "customer_id": customer_id, "product": product, "name": name,
            "source": "crm", "created_at": now, "updated_at": now})
        contact = await self.get(email)
        await self.session.refresh(contact)  # the statement bypassed the identity map
        return contact

    async def listing(self, customer_id: str | None, after: str | None, limit: int) -> KeysetPage[CustomerContact]:
        """In address order; the caller has narrowed `customer_id` to what the principal may see."""
        return await repo.contacts(self.session, customer_id=customer_id, after=after, limit=limit)
