"""The contact directory of the e-mail channel: which address writes for which customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.tickets.api.deps import scoped
from services.tickets.errors import ContactNotFound
from services.tickets.models import CustomerContact
from services.tickets.schemas.mail import ContactIn, ContactOut
from services.tickets.service.contacts import ContactService
from shared.errors import Forbidden, error_responses
from shared.roles import TICKETS_READ, TICKETS_WRITE
from shared.schemas import Email as EmailAddress, Page
from shared.web.uow import UoW

router = APIRouter(prefix="/v1/contacts", tags=["e-mail channel"])


async def contact_service(uow: UoW) -> ContactService:
    return ContactService(uow)


Contacts = Annotated[ContactService, Depends(contact_service)]
Email = Annotated[EmailAddress, Path(description="The contact's e-mail address (matched case-insensitively).")]


def contact_out(contact: CustomerContact) -> ContactOut:
    return ContactOut.model_validate(contact, from_attributes=True)


@router.put("/{email}", operation_id="upsertContact",
            response_model=ContactOut, summary="Register or change a contact (CRM)",
            description="Mail from this address opens tickets for `customer_id` on `product` (R-T1). An entry set "
                        "here is authoritative: tickets filed later never change it. Customers cannot write the "
                        "directory (403); they may read their own entries. Idempotent.",
            responses=error_responses(Forbidden))
async def put_contact(email: Email, body: ContactIn, contacts: Contacts,
                      principal: scoped(TICKETS_WRITE)) -> ContactOut:
    if principal.customer_id is not None:
        raise Forbidden("the contact directory is managed by the CRM")
    return contact_out(await contacts.put(str(email), body.customer_id, body.product, body.name))


@router.get("/{email}", operation_id="getContact", response_model=ContactOut, summary="One contact",
            description="Customers see only their own customer's contacts (else 404).",
            responses=error_responses(Forbidden, ContactNotFound))
async def get_contact(email: Email, contacts: Contacts, principal: scoped(TICKETS_READ)) -> ContactOut:
    return contact_out(await contacts.visible(str(email), principal))


@router.get("", operation_id="listContacts", response_model=Page[ContactOut], summary="List contacts",
            description="Filtered by customer; customers see only their own. Cursor pagination by address.",
            responses=error_responses(Forbidden))
async def list_contacts(contacts: Contacts, principal: scoped(TICKETS_READ),
                        customer_id: str | None = Query(default=None, max_length=100),
                        cursor: str | None = Query(default=None, max_length=320),
                        limit: int = Query(default=50, ge=1, le=200)) -> Page[ContactOut]:
    customer_id = principal.customer_filter(customer_id)
    page = await contacts.listing(customer_id, cursor, limit)
    return Page(items=[contact_out(c) for c in page.rows], next_cursor=page.next_after)
