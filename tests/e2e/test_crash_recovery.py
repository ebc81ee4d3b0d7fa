"""Each service killed with SIGKILL in the middle of a flow, then started again: the flow
completes, nothing is applied twice (one invoice, one charge at the provider, one activation,
one ticket, one inbound mail applied) and nothing is lost (every event and mail arrives).

SIGKILL gives a process no chance to finish anything: no shutdown hooks, no drained relay, no
answered SMTP transaction. What survives is what was committed to PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import smtplib
import time
import uuid

import pytest

from tests.e2e import steps
from tests.e2e.harness import CARD_OK, Platform, unique, until

pytestmark = [pytest.mark.timeout(150)]


async def _all_delivered(p: Platform) -> None:
    await p.drained("entitlements", "billing", "tickets", timeout=30)


async def test_billing_killed_while_the_first_charge_is_in_flight(platform: Platform):
    """Killed the moment the provider has the charge, before it settles: the provider's webhook
    finds billing down and is retried; billing, restarted, applies it once and tells entitlements."""
    p = platform
    bought = await steps.buy(p, unique("cust-kill-billing"), instrument=CARD_OK)
    first = await steps.invoice_where(p, bought["id"], lambda i: i["purpose"] == "first", "the first invoice",
                                      timeout=20)
    charge = await until(lambda: steps.sandbox_charge(p, f"{first['id']}:1"),
                         "billing to submit the first charge to the provider", timeout=20, interval=0.02)
    assert charge["status"] == "pending", "the charge settled before billing could be killed"
    p["billing"].kill()
    killed_at = time.monotonic()

    # the provider settles anyway and cannot tell billing
    async def refused():  # type: ignore[no-untyped-def]
        deliveries = (await p.client("paysandbox").get("/sandbox/webhook-deliveries",
                                                       params={"charge_id": charge["id"]})).json()["data"]
        return deliveries if deliveries and deliveries[0]["status_code"] is None else None
    await until(refused, "the provider's webhook to find billing down")
    assert (await steps.sandbox_charge(p, f"{first['id']}:1"))["status"] == "succeeded"

    ready_in = await p["billing"].restart()
    paid = await steps.invoice_where(p, bought["id"], lambda i: i["status"] == "paid", "the charge applied after "
                                     "the restart", timeout=30)
    await steps.status(p, bought["id"], "active")
    p.timings.add("  billing: SIGKILL → ready again", ready_in)
    p.timings.add("  billing: SIGKILL → contract active", time.monotonic() - killed_at)

    await steps.assert_charged_once(p, paid)
    assert [i["id"] for i in await steps.invoices(p, bought["id"])] == [first["id"]]
    assert [h["action"] for h in await steps.history(p, bought["id"])] == ["created", "activate"]
    await _all_delivered(p)


async def test_entitlements_killed_while_billing_relays_contract_paid(platform: Platform):
    """Killed once billing has the purchase: the charge is paid without it, billing's relay keeps
    `contract.paid` until entitlements is back, which then activates the contract once."""
    p = platform
    bought = await steps.buy(p, unique("cust-kill-ent"), instrument=CARD_OK)
    await steps.invoice_where(p, bought["id"], lambda i: i["purpose"] == "first", "the first invoice", timeout=20)
    p["entitlements"].kill()
    killed_at = time.monotonic()

    paid = await steps.invoice_where(p, bought["id"], lambda i: i["status"] == "paid",
                                     "the first invoice paid while entitlements is down", timeout=20)

    async def held() -> bool:
        return await p.outbox_pending("billing") >= 1
    await until(held, "billing's relay to hold `contract.paid` for entitlements")
    assert (await steps.account(p, bought["id"]))["contract_status"] == "pending_payment"

    ready_in = await p["entitlements"].restart()
    await steps.status(p, bought["id"], "active")
    p.timings.add("  entitlements: SIGKILL → ready again", ready_in)
    p.timings.add("  entitlements: SIGKILL → contract active", time.monotonic() - killed_at)

    assert [h["action"] for h in await steps.history(p, bought["id"])] == ["created", "activate"]
    await steps.assert_charged_once(p, paid)
    assert len(await steps.invoices(p, bought["id"])) == 1
    await _all_delivered(p)


def _smtp_data(raw: bytes) -> bytes:
    """A message as the SMTP DATA phase carries it: CRLF lines, leading dots doubled, `.` at the end."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n"


async def test_tickets_killed_after_a_create_and_while_a_mail_is_processed(platform: Platform):
    """A ticket filed through the API (its acknowledgement still to be mailed), then a mail whose
    DATA has been sent when tickets is killed, before it answers: the API client retries with its
    Idempotency-Key, the sending MTA sends the same message again; one ticket each, one
    acknowledgement each, the mail applied once."""
    p = platform
    customer = unique("cust-kill-tickets")
    bought = await steps.buy(p, customer, instrument=CARD_OK)
    await steps.status(p, bought["id"], "active")
    contact = f"ewa@{customer}.example"
    key = str(uuid.uuid4())
    filed = await steps.file_ticket(p, customer, contact, "VPN profile missing on new laptops", key=key)

    mail = steps.support_mail(contact, "Teams meeting recordings are missing",
                              "Recordings of yesterday's Teams meetings are missing from OneDrive for all users.")

    def send_and_kill() -> str:
        """The DATA is sent, then tickets dies before it can answer (SIGKILL from here, at once)."""
        smtp = smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=20)
        try:
            smtp.ehlo()
            assert smtp.mail(contact)[0] == 250 and smtp.rcpt(steps.SUPPORT_ADDRESS)[0] == 250
            assert smtp.docmd("DATA")[0] == 354
            smtp.send(_smtp_data(mail.as_bytes()))
            p["tickets"].kill()
            try:
                code, _ = smtp.getreply()
                return f"answered {code} before it died"
            except smtplib.SMTPServerDisconnected:
                return "no answer: the connection died"
        finally:
            smtp.close()

    answer = await asyncio.to_thread(send_and_kill)
    killed_at = time.monotonic()
    ready_in = await p["tickets"].restart()
    p.timings.add("  tickets: SIGKILL → ready again", ready_in)

    supervisor = p.client("tickets", "supervisor")

    async def inbound_rows() -> list[dict]:
        items = (await supervisor.get("/v1/inbound-mail", params={"limit": 200})).json()["items"]
        return [m for m in items if m["message_id"] == str(mail["Message-ID"])]
    committed_before = bool(await inbound_rows())
    p.timings.note(f"tickets SIGKILL during SMTP DATA: {answer}; the first attempt had "
                   f"{'committed' if committed_before else 'not committed'} (the resend "
                   f"{'was recognised as a repeat' if committed_before else 'filed the ticket'})")

    # the API client did not trust its first answer: the same request again, the same ticket
    replay = await p.client("tickets", "crm").post("/v1/tickets", headers={"Idempotency-Key": key}, json=steps.ticket_body(
        customer, contact, "VPN profile missing on new laptops"))
    assert replay.status_code == 201, replay.text
    assert (replay.json()["id"], replay.headers.get("idempotent-replayed")) == (filed["id"], "true")
    # the sending MTA never saw 250: it sends the same message again
    await steps.send_mail(p, mail)
    p.timings.add("  tickets: SIGKILL → both requests done", time.monotonic() - killed_at)

    filed_tickets = await steps.tickets_of(p, customer)
    assert sorted(t["subject"] for t in filed_tickets) == [
        "Teams meeting recordings are missing", "VPN profile missing on new laptops"]
    by_mail = next(t for t in filed_tickets if t["channel"] == "email")
    rows = await inbound_rows()
    assert len(rows) == 1, rows
    assert (rows[0]["status"], rows[0]["outcome"], rows[0]["ticket_id"]) == ("processed", "ticket_created",
                                                                              by_mail["id"])
    for ticket_id in (filed["id"], by_mail["id"]):  # nothing lost, nothing doubled: one acknowledgement each
        assert len(await steps.acknowledgements(p, ticket_id)) == 1
    await _all_delivered(p)
    for ticket_id in (filed["id"], by_mail["id"]):
        assert len(await steps.acknowledgements(p, ticket_id)) == 1
