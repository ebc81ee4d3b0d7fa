"""What the flows do, step by step, over HTTP and SMTP only (plus the sandbox's API and the mail
sink's folder): a shop buying, billing's runs, the CRM filing tickets, a customer mailing the
support address, agents replying."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Callable

from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file
from shared.business_time import Calendar
from tests.e2e.harness import CARD_OK, Platform, until
from tests.entitlements.helpers import purchase_body

SUPPORT_ADDRESS = "support@example.com"  # the tickets service's default support mailbox


# ---- the catalogue (the file the platform loaded) ---------------------------------------------


def plan_terms(plan_id: str) -> dict[str, Any]:
    for product in read_catalogue_file(DEFAULT_CATALOGUE).products:
        for plan in product.plans:
            if plan.id == plan_id:
                return plan.model_dump(mode="json")
    raise KeyError(plan_id)


def calendar_of(plan_id: str) -> Calendar:
    terms = plan_terms(plan_id)
    return Calendar.from_spec(terms["support_hours"],
                              round_the_clock=terms["reaction"]["mode"] == "business_days_round_the_clock")


# ---- entitlements: buying, contracts ----------------------------------------------------------


async def buy(p: Platform, customer_id: str, *, plan_id: str = "o365-standard", instrument: str | None = CARD_OK,
              method: str = "card", key: str | None = None, **kw: Any) -> dict[str, Any]:
    """An add-on purchase in the shop (unless `mode` says otherwise); 201 expected."""
    response = await buy_response(p, customer_id, plan_id=plan_id, instrument=instrument, method=method, key=key,
                                  **kw)
    assert response.status_code == 201, response.text
    return response.json()


async def buy_response(p: Platform, customer_id: str, *, plan_id: str = "o365-standard",
                       instrument: str | None = CARD_OK, method: str = "card", key: str | None = None,
                       reference: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    body = purchase_body(customer_id=customer_id, plan_id=plan_id, payment_method=method,
                         reference=reference or f"{customer_id}.onmicrosoft.com", **kw)
    if instrument is not None:
        body["billing"]["payment_instrument"] = instrument
    return await p.client("entitlements", "shop").post("/v1/purchases", json=body,
                                                       headers={"Idempotency-Key": key or str(uuid.uuid4())})


async def contract(p: Platform, contract_id: str) -> dict[str, Any]:
    response = await p.client("entitlements", "admin").get(f"/v1/contracts/{contract_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def history(p: Platform, contract_id: str) -> list[dict[str, Any]]:
    response = await p.client("entitlements", "admin").get(f"/v1/contracts/{contract_id}/history")
    assert response.status_code == 200, response.text
    return response.json()


async def account(p: Platform, contract_id: str) -> dict[str, Any] | None:
    response = await p.client("billing", "admin").get(f"/v1/accounts/{contract_id}")
    return response.json() if response.status_code == 200 else None


async def status(p: Platform, contract_id: str, wanted: str, timeout: float = 30.0) -> dict[str, Any]:
    """Waits until entitlements has the contract in `wanted` and billing has heard of it too."""
    async def probe() -> dict[str, Any] | None:
        found = await contract(p, contract_id)
        billing = await account(p, contract_id)
        return found if found["status"] == wanted and billing and billing["contract_status"] == wanted else None
    return await until(probe, f"contract {contract_id} to be {wanted} in entitlements and billing", timeout)


# ---- billing ---------------------------------------------------------------------------------


async def invoices(p: Platform, contract_id: str) -> list[dict[str, Any]]:
    response = await p.client("billing", "admin").get("/v1/invoices", params={"contract_id": contract_id})
    assert response.status_code == 200, response.text
    return sorted(response.json()["items"], key=lambda i: i["number"])


async def invoice(p: Platform, invoice_id: str) -> dict[str, Any]:
    response = await p.client("billing", "admin").get(f"/v1/invoices/{invoice_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def invoice_where(p: Platform, contract_id: str, test: Callable[[dict[str, Any]], bool], what: str,
                        timeout: float = 30.0) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return next((i for i in await invoices(p, contract_id) if test(i)), None)
    return await until(probe, what, timeout)


async def sandbox_charge(p: Platform, idempotency_key: str) -> dict[str, Any] | None:
    """The provider's record of a charge billing made under this key (billing's keys are
    `<invoice id>:<attempt>`), or None when the provider never got it."""
    response = await p.client("paysandbox").get("/v1/charges", params={"idempotency_key": idempotency_key})
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


async def settled_charge(p: Platform, invoice_id: str, attempt: int = 1) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await sandbox_charge(p, f"{invoice_id}:{attempt}")
        return found if found and found["status"] != "pending" else None
    return await until(probe, f"the provider to settle charge {attempt} of {invoice_id}")


async def billing_heard(p: Platform, charge: dict[str, Any]) -> None:
    """Waits until billing has acknowledged the provider's webhook about a charge (billing answers
    2xx only once the outcome is committed)."""
    async def probe() -> bool:
        deliveries = (await p.client("paysandbox").get("/sandbox/webhook-deliveries",
                                                       params={"charge_id": charge["id"]})).json()["data"]
        return any(d["status_code"] is not None and 200 <= d["status_code"] < 300 for d in deliveries)
    await until(probe, f"billing to acknowledge the provider's webhook about {charge['id']}")


async def assert_charged_once(p: Platform, paid: dict[str, Any]) -> dict[str, Any]:
    """One charge at the provider for the invoice, for its gross total, and no second attempt; the
    provider's webhooks about it all carry one event id (retries, never a second event)."""
    charge = await sandbox_charge(p, f"{paid['id']}:1")
    assert charge is not None, f"the provider has no charge for {paid['number']}"
    assert (charge["status"], charge["amount"], charge["reference"]) == ("succeeded", paid["gross_total"], paid["id"])
    assert await sandbox_charge(p, f"{paid['id']}:2") is None, "a second charge attempt reached the provider"
    deliveries = (await p.client("paysandbox").get("/sandbox/webhook-deliveries",
                                                   params={"charge_id": charge["id"]})).json()["data"]
    assert len({d["event_id"] for d in deliveries}) == 1, deliveries
    assert (paid["status"], paid["amount_paid"]) == ("paid", paid["gross_total"]), "paid exactly once"
    return charge


async def billing_run(p: Platform, period: str, as_of: datetime) -> dict[str, Any]:
    response = await p.client("billing", "admin").post("/v1/billing-runs",
                                                       json={"period": period, "as_of": as_of.isoformat()},
                                                       headers={"Prefer": "wait=120"}, timeout=130)
    assert (response.status_code, response.json()["status"]) == (200, "finished"), response.text
    return response.json()


async def charge_run(p: Platform, as_of: datetime) -> dict[str, Any]:
    """Submits the charges due by `as_of` (the runner's background rounds use the system clock,
    so a run for a later period's window is triggered with that window's instant)."""
    response = await p.client("billing", "admin").post("/v1/charge-runs", params={"as_of": as_of.isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


async def dunning_run(p: Platform, as_of: datetime) -> dict[str, Any]:
    response = await p.client("billing", "admin").post("/v1/dunning-runs", json={"as_of": as_of.isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


# ---- tickets ---------------------------------------------------------------------------------


def ticket_body(customer_id: str, email: str, subject: str, *, product: str = "office365-support",
                category: str = "basic_config_help") -> dict[str, Any]:
    return {"customer_id": customer_id, "product": product, "subject": subject, "category": category,
            "description": f"{subject}: it started this morning for every user of the sales department, "
                           "nothing was changed on our side.",
            "contact": {"name": "Anna Nowak", "email": email}}


async def file_ticket(p: Platform, customer_id: str, email: str, subject: str, *, key: str | None = None,
                      **kw: Any) -> dict[str, Any]:
    response = await p.client("tickets", "crm").post("/v1/tickets", json=ticket_body(customer_id, email, subject, **kw),
                                                     headers={"Idempotency-Key": key or str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    return response.json()


async def ticket(p: Platform, ticket_id: str) -> dict[str, Any]:
    response = await p.client("tickets", "agent").get(f"/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def tickets_of(p: Platform, customer_id: str) -> list[dict[str, Any]]:
    response = await p.client("tickets", "agent").get("/v1/tickets", params={
        "customer_id": customer_id, "status": ["new", "open", "awaiting_customer", "resolved", "closed"]})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def agent_reply(p: Platform, ticket_id: str, text: str) -> dict[str, Any]:
    response = await p.client("tickets", "agent", sub="agent-ewa").post(
        f"/v1/tickets/{ticket_id}/messages", json={"body": text, "visibility": "public"})
    assert response.status_code == 201, response.text
    return response.json()


def support_mail(sender: str, subject: str, text: str, message_id: str | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, SUPPORT_ADDRESS, subject
    mail["Message-ID"] = message_id or make_msgid(domain="contoso.example")
    mail.set_content(text)
    return mail


async def send_mail(p: Platform, mail: EmailMessage) -> None:
    """Delivers a message to the support address through the tickets service's SMTP listener;
    returns once the listener answered 250 (after its transaction committed)."""
    def send() -> None:
        with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=20) as smtp:
            smtp.send_message(mail)
    await asyncio.to_thread(send)


async def acknowledgements(p: Platform, ticket_id: str, count: int = 1, timeout: float = 20.0) -> list[str]:
    """The distinct Message-IDs of the acknowledgements of a ticket in the mail sink, once there are
    `count` of them (a repeated delivery of one mail keeps its Message-ID)."""
    async def probe() -> list[str] | None:
        found = sorted({str(m["Message-ID"]) for m in p.mails_about(ticket_id)
                        if "has been registered" in m.get_body(("plain",)).get_content()})
        return found if len(found) >= count else None
    return await until(probe, f"{count} acknowledgement(s) of {ticket_id} in the mail sink", timeout)


async def notice_mails(p: Platform, contract_id: str, subject_start: str, timeout: float = 20.0
                       ) -> list[EmailMessage]:
    """Billing's notices about a contract, mailed to the buyer (one Message-ID: sent once, or the
    same mail again), once one has arrived."""
    async def probe() -> list[EmailMessage] | None:
        found = [m for m in p.mails() if str(m["Subject"]).strip().startswith(subject_start)
                 and contract_id in m.get_body(("plain",)).get_content()]
        return found or None
    found = await until(probe, f"the mail {subject_start!r} about {contract_id}", timeout)
    assert len({str(m["Message-ID"]) for m in found}) == 1, [m["Message-ID"] for m in found]
    return found
