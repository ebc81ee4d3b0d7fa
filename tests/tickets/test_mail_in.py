"""Inbound e-mail (R-T1): real SMTP over loopback into the tickets app's own listener; what
comes back is caught by a recording SMTP sink that stands in for the relay."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
import pytest

from services.tickets.errors import EntitlementsUnavailable
from services.tickets.service import mail_parse
from services.tickets.service.mail_in import InboundMailService
from services.tickets.service.tickets import TicketService
from tests.support.smtp_sink import body_of
from tests.tickets.mail_fixtures import (  # noqa: F401 - fixtures
    SUPPORT, Mail, mail, smtp_listen_port, smtp_sink, tickets_settings_overrides, wait_until,
)

ANNA = "anna@contoso.pl"
DESCRIPTION = "Since Monday every Teams call of the sales team drops after about five minutes."


def subject_ref(message: EmailMessage) -> str:
    refs = mail_parse.TICKET_REF.findall(str(message["Subject"]))
    assert len(refs) == 1, message["Subject"]
    return refs[0]


# ---- a new mail from a known contact ----------------------------------------------------------


async def test_a_known_contacts_mail_opens_a_ticket_on_its_plan_and_is_acknowledged(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    await mail.register(ANNA, "cust-1")

    answer = await mail.send(mail.message(f"Anna Nowak <{ANNA}>", "Teams calls drop", DESCRIPTION))
    assert answer.code == 250

    [ticket] = await mail.tickets_of("cust-1")
    assert (ticket["customer_id"], ticket["product_id"], ticket["plan"]["plan_id"]) == (
        "cust-1", "office365-support", "o365-standard")
    assert (ticket["channel"], ticket["category"], ticket["subject"]) == ("email", "other", "Teams calls drop")
    assert ticket["description"] == DESCRIPTION and ticket["contact"]["email"] == ANNA
    assert ticket["status"] == "new" and ticket["sla"]["state"] == "running"

    [ack] = await mail.sink.wait_for(lambda m: ANNA in str(m["To"]))
    assert subject_ref(ack) == ticket["id"] and f"[#{ticket['id']}]" in str(ack["Subject"])
    assert "will respond by" in body_of(ack) and "Warsaw time" in body_of(ack)
    assert ack["Auto-Submitted"] == "auto-generated" and str(ack["From"]).endswith(f"<{SUPPORT}>")
    assert ticket["id"] in str(ack["Message-ID"]) and f"<{ticket['id']}@" in str(ack["References"])

    [kept] = await mail.inbound()
    assert (kept["status"], kept["outcome"], kept["ticket_id"]) == ("processed", "ticket_created", ticket["id"])


async def test_attachments_within_the_limits_join_the_ticket_and_the_rest_are_named(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    await mail.register(ANNA, "cust-1")
    message = mail.message(ANNA, "Teams calls drop", DESCRIPTION)
    message.add_attachment(b"call log line 1\n", maintype="text", subtype="plain", filename="calls.log")
    message.add_attachment(b"\0" * (world.settings.max_attachment_bytes + 1), maintype="application",
                           subtype="octet-stream", filename="huge.dump")

    await mail.send(message)

    [ticket] = await mail.tickets_of("cust-1")
    detail = (await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}")).json()
    [attached] = detail["messages"][0]["attachments"]
    assert (attached["filename"], attached["size"]) == ("calls.log", 16)
    assert ticket["description"].startswith(DESCRIPTION) and "huge.dump" in ticket["description"]
    [kept] = await mail.inbound()
    assert kept["id"] in ticket["description"] and kept["size"] > world.settings.max_attachment_bytes


async def test_a_ticket_filed_through_the_api_registers_its_contact_for_mail(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    filed = await world.file(contact={"name": "Jan Kowalski", "email": "Jan.Kowalski@Contoso.pl"})
    assert filed.status_code == 201, filed.text

    listed = await world.tickets("crm").get("/v1/contacts", params={"customer_id": "cust-1"})
    assert listed.status_code == 200
    [entry] = listed.json()["items"]
    assert (entry["email"], entry["customer_id"], entry["product"], entry["source"]) == (
        "jan.kowalski@contoso.pl", "cust-1", "office365-support", "api")

    await mail.send(mail.message("jan.kowalski@contoso.pl", "Outlook asks for a password", DESCRIPTION))
    assert len(await mail.tickets_of("cust-1")) == 2


async def test_the_crm_manages_the_directory_and_customers_only_read_their_own(world, mail: Mail):
    await mail.register(ANNA, "cust-1")
    await world.contract("cust-2", "o365-standard")
    # a ticket filed for another customer with the same address does not move a CRM entry
    assert (await world.file(customer_id="cust-2", contact={"name": "A", "email": ANNA})).status_code == 201
    got = await world.tickets("crm").get(f"/v1/contacts/{ANNA.upper()}")
    assert got.status_code == 200 and (got.json()["customer_id"], got.json()["source"]) == ("cust-1", "crm")

    customer = world.tickets("customer", customer_id="cust-1")
    assert (await customer.put(f"/v1/contacts/{ANNA}", json={"customer_id": "cust-1", "product": "x"})
            ).status_code == 403
    assert [c["email"] for c in (await customer.get("/v1/contacts")).json()["items"]] == [ANNA]
    assert (await world.tickets("customer", customer_id="cust-2").get(f"/v1/contacts/{ANNA}")).status_code == 404
    assert (await world.tickets("crm").put("/v1/contacts/not-an-address", json={
        "customer_id": "cust-1", "product": "office365-support"})).status_code == 422


async def test_a_body_too_short_gets_the_please_describe_auto_reply_and_creates_nothing(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    await mail.register(ANNA, "cust-1")

    await mail.send(mail.message(ANNA, "help", "It broke."))

    [reply] = await mail.sink.wait_for(lambda m: ANNA in str(m["To"]))
    assert "please describe" in body_of(reply).lower() and str(reply["Subject"]) == "Re: help"
    assert reply["Auto-Submitted"] == "auto-replied" and reply["In-Reply-To"]
    assert await mail.tickets_of() == []
    assert [m["outcome"] for m in await mail.inbound()] == ["auto_reply:description_too_short"]


async def test_a_customer_without_support_is_answered_and_the_mail_is_kept(world, mail: Mail):
    await mail.register(ANNA, "cust-nothing")  # no licence, no contract, no free plan

    await mail.send(mail.message(ANNA, "Teams calls drop", DESCRIPTION))

    [reply] = await mail.sink.wait_for(lambda m: ANNA in str(m["To"]))
    assert "no support plan" in body_of(reply)
    assert await mail.tickets_of() == []
    [kept] = await mail.inbound("unprocessed")
    assert kept["outcome"] == "auto_reply:no_entitlement" and kept["customer_id"] == "cust-nothing"


# ---- replies ---------------------------------------------------------------------------------


async def test_a_reply_with_the_reference_resumes_a_paused_clock_and_the_agents_next_reply_is_mailed(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    ticket = (await world.file(contact={"name": "Anna Nowak", "email": ANNA})).json()
    tid = ticket["id"]
    agent = world.tickets("agent")
    paused = await agent.post(f"/v1/tickets/{tid}/request-details", json={"body": "Which Teams client version?"})
    assert paused.status_code == 200 and paused.json()["sla"]["state"] == "paused"
    [ask] = await mail.sink.wait_for(lambda m: "Which Teams client" in body_of(m))
    assert subject_ref(ask) == tid and "clock is paused" in body_of(ask)

    reply = mail.message(ANNA, f"Re: {ask['Subject']}",
                         "Version 24.1 on every laptop.\n\nOn Mon, 23 Nov 2026 at 10:00, Support Desk "
                         f"<{SUPPORT}> wrote:\n> Which Teams client version?\n", In_Reply_To=str(ask["Message-ID"]))
    assert (await mail.send(reply)).code == 250

    detail = (await agent.get(f"/v1/tickets/{tid}")).json()
    assert detail["status"] == "open" and detail["sla"]["state"] == "running"
    last = detail["messages"][-1]
    assert (last["author_kind"], last["channel"]) == ("customer", "email")
    assert last["body"] == "Version 24.1 on every laptop.", "the quoted history is stripped"
    assert last["author"] == f"mail:{ANNA}"

    answered = await agent.post(f"/v1/tickets/{tid}/messages", json={"body": "Please update to 24.2, it fixes this."})
    assert answered.status_code == 201
    [mailed] = await mail.sink.wait_for(lambda m: "update to 24.2" in body_of(m))
    assert subject_ref(mailed) == tid and ANNA in str(mailed["To"])
    internal = await agent.post(f"/v1/tickets/{tid}/messages", json={"body": "note to self", "visibility": "internal"})
    assert internal.status_code == 201
    await mail.settled()
    assert not [m for m in mail.sink.messages if "note to self" in body_of(m)], "internal notes are never mailed"
    assert not [m for m in mail.sink.messages if "Version 24.1" in body_of(m)], "a customer's words are not mailed back"


async def test_another_contact_of_the_same_customer_may_reply_but_a_stranger_may_not(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    tid = (await world.file(contact={"name": "Anna Nowak", "email": ANNA})).json()["id"]
    await mail.register("piotr@contoso.pl", "cust-1", name="Piotr")
    await mail.register("eve@fabrikam.pl", "cust-2", name="Eve")

    await mail.send(mail.message("piotr@contoso.pl", f"Re: Teams calls drop [#{tid}]", "It happens to me as well."))
    await mail.send(mail.message("eve@fabrikam.pl", f"Re: Teams calls drop [#{tid}]", "x"))  # too short: new mail

    messages = (await world.tickets("agent").get(f"/v1/tickets/{tid}")).json()["messages"]
    assert [m["body"] for m in messages[1:]] == ["It happens to me as well."]
    assert [t["customer_id"] for t in await mail.tickets_of()] == ["cust-1"]
    await mail.sink.wait_for(lambda m: "eve@fabrikam.pl" in str(m["To"]) and "please describe" in body_of(m).lower())


async def test_a_reply_to_a_closed_ticket_gets_an_auto_reply_saying_so(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    tid = (await world.file(contact={"name": "Anna Nowak", "email": ANNA})).json()["id"]
    agent = world.tickets("agent")
    assert (await agent.post(f"/v1/tickets/{tid}/resolve", json={"note": "Fixed by the update."})).status_code == 200
    assert (await agent.post(f"/v1/tickets/{tid}/close")).status_code == 200

    await mail.send(mail.message(ANNA, f"Re: Resolved: Teams calls drop [#{tid}]", "Thanks, but it is back again!"))

    [notice] = await mail.sink.wait_for(lambda m: "is closed" in body_of(m))
    assert subject_ref(notice) == tid and notice["Auto-Submitted"] == "auto-replied"
    detail = (await agent.get(f"/v1/tickets/{tid}")).json()
    assert detail["status"] == "closed" and not any("back again" in m["body"] for m in detail["messages"])
    [kept] = await mail.inbound()
    assert (kept["outcome"], kept["ticket_id"]) == ("auto_reply:ticket_closed", tid)


async def test_a_reply_too_long_after_resolution_changes_nothing_and_says_why(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    tid = (await world.file(contact={"name": "Anna Nowak", "email": ANNA})).json()["id"]
    agent = world.tickets("agent")
    assert (await agent.post(f"/v1/tickets/{tid}/resolve")).status_code == 200
    before = (await agent.get(f"/v1/tickets/{tid}")).json()["messages"]
    world.clock.advance(timedelta(days=15))

    await mail.send(mail.message(ANNA, f"Re: Teams calls drop [#{tid}]", "The calls drop again since yesterday."))

    [notice] = await mail.sink.wait_for(lambda m: "can no longer be reopened" in body_of(m))
    assert subject_ref(notice) == tid
    after = (await agent.get(f"/v1/tickets/{tid}")).json()
    assert after["status"] == "resolved" and after["messages"] == before, "the savepoint took the message back"


# ---- strangers, machines and garbage -----------------------------------------------------------


async def test_an_unknown_sender_gets_exactly_one_auto_reply_and_no_ticket(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")

    await mail.send(mail.message("Stranger <stranger@nowhere.example>", "Teams calls drop", DESCRIPTION))
    await mail.send(mail.message("stranger@nowhere.example", "Teams calls drop (again)", DESCRIPTION))

    await mail.sink.wait_for(lambda m: "stranger@nowhere.example" in str(m["To"]))
    await mail.settled()
    [reply] = mail.sink.to("stranger@nowhere.example")
    assert "not registered" in body_of(reply) and reply["Auto-Submitted"] == "auto-replied"
    assert await mail.tickets_of() == []
    assert sorted(m["outcome"] for m in await mail.inbound()) == [
        "auto_reply:unknown_sender", "no_reply_repeat:unknown_sender"]


async def test_an_unparseable_mail_is_kept_for_an_operator_and_listed(world, mail: Mail):
    raw = b"Subject: no sender at all\r\nTo: " + SUPPORT.encode() + b"\r\n\r\nwho am I?\r\n"
    assert (await mail.send(raw, sender="")).code == 250

    [kept] = await mail.inbound("unprocessed")
    assert kept["outcome"] == "unparseable" and "From" in kept["error"] and kept["size"] == len(raw)
    supervisor = world.tickets("supervisor")
    downloaded = await supervisor.get(f"/v1/inbound-mail/{kept['id']}/raw")
    assert downloaded.status_code == 200 and downloaded.content.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert (await world.tickets("agent").get("/v1/inbound-mail")).status_code == 403

    dismissed = await supervisor.post(f"/v1/inbound-mail/{kept['id']}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert await mail.inbound("unprocessed") == []
    again = await supervisor.post(f"/v1/inbound-mail/{kept['id']}/dismiss")
    assert (again.status_code, again.json()["error"]) == (409, "inbound_mail_not_pending")
    await mail.settled()
    assert mail.sink.messages == []


@pytest.mark.parametrize("sender, headers, envelope_from, reason", [
    (ANNA, {"Auto_Submitted": "auto-replied"}, ANNA, "auto_submitted:auto-replied"),
    (ANNA, {"X_Autoreply": "yes"}, ANNA, "auto_submitted:x_autoreply"),
    (ANNA, {}, "", "bounce:null_sender"),
    ("Mail Delivery System <MAILER-DAEMON@mx.contoso.pl>", {}, "postmaster@mx.contoso.pl", "bounce:mailer_daemon"),
    (SUPPORT, {}, SUPPORT, "own_address"),
], ids=["auto-submitted", "x-autoreply", "null-sender", "mailer-daemon", "our-own-address"])
async def test_automatic_mail_is_kept_but_never_answered(world, mail: Mail, sender, headers, envelope_from, reason):
    await world.contract("cust-1", "o365-standard")
    await mail.register(ANNA, "cust-1")

    message = mail.message(sender, "Out of office: Teams calls drop", DESCRIPTION, **headers)
    assert (await mail.send(message, sender=envelope_from)).code == 250

    [kept] = await mail.inbound()
    assert (kept["status"], kept["outcome"]) == ("ignored", reason)
    assert await mail.tickets_of() == []
    await mail.settled()
    assert mail.sink.messages == []


async def test_mail_for_another_address_is_refused(mail: Mail):
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await mail.send(mail.message(ANNA, "hello", DESCRIPTION), recipients=["sales@helpdesk.example.pl"])


# ---- never lose mail ------------------------------------------------------------------------


async def test_a_transient_failure_answers_451_and_the_retried_mail_is_processed_once(world, mail: Mail, monkeypatch):
    await world.contract("cust-1", "o365-standard")
    await mail.register(ANNA, "cust-1")
    message = mail.message(ANNA, "Teams calls drop", DESCRIPTION)
    client = world.tickets_app.state.entitlements
    real = client.entitlements

    async def unavailable(*args, **kwargs):
        raise EntitlementsUnavailable("entitlements did not answer")

    monkeypatch.setattr(client, "entitlements", unavailable)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await mail.send(message)
    assert refused.value.code == 451
    assert await mail.inbound() == [] and await mail.tickets_of() == []

    monkeypatch.setattr(client, "entitlements", real)
    assert (await mail.send(message)).code == 250  # the sending MTA retries
    assert (await mail.send(message)).code == 250  # and once more, as if our 250 had been lost
    assert len(await mail.tickets_of()) == 1
    assert [m["outcome"] for m in await mail.inbound()] == ["ticket_created"]


async def test_an_unexpected_failure_keeps_the_mail_for_an_operator(world, mail: Mail, monkeypatch):
    await world.contract("cust-1", "o365-standard")
    await mail.register(ANNA, "cust-1")

    async def broken(self, data, principal):
        raise RuntimeError("a bug")

    monkeypatch.setattr(TicketService, "file", broken)
    assert (await mail.send(mail.message(ANNA, "Teams calls drop", DESCRIPTION))).code == 250

    [kept] = await mail.inbound("unprocessed")
    assert kept["outcome"] == "error" and "a bug" in kept["error"] and kept["from_address"] == ANNA
    assert await mail.tickets_of() == []


async def test_shutdown_stops_accepting_but_lets_a_message_being_processed_commit_first(world, mail: Mail,
                                                                                        monkeypatch):
    started, release = asyncio.Event(), asyncio.Event()
    real = InboundMailService.receive

    async def slow(self, raw, envelope_from):
        started.set()
        await release.wait()
        return await real(self, raw, envelope_from)

    monkeypatch.setattr(InboundMailService, "receive", slow)
    sending = asyncio.create_task(mail.send(mail.message("stranger@nowhere.example", "hello", DESCRIPTION)))
    await asyncio.wait_for(started.wait(), timeout=10)

    listener = world.tickets_app.state.smtp_listener
    stopping = asyncio.create_task(listener.stop())

    async def closed() -> bool:
        return not listener.listening

    await wait_until(closed, what="the listener to stop accepting")
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await mail.send(mail.message(ANNA, "too late", DESCRIPTION))
    assert not stopping.done(), "shutdown waits for the message in processing"

    release.set()
    assert (await sending).code == 250, "answered only after the commit, before the session is closed"
    await stopping
    assert [m["outcome"] for m in await mail.inbound()] == ["auto_reply:unknown_sender"]


# ---- parsing (pure) ---------------------------------------------------------------------------


def test_quoted_history_is_stripped_best_effort():
    gmail = "Yes, since 9:00.\n\nOn Mon, 23 Nov 2026 at 10:00, Support Desk <\nsupport@x.pl> wrote:\n> Since when?"
    outlook = ("Restarted, no change.\n\n________________________________\nFrom: Support Desk\nSent: Monday\n"
               "Subject: Re: x")
    outlook_plain = "Done.\n\nFrom: Support Desk <support@x.pl>\nSent: Monday, 23 November 2026 10:00\nTo: Anna"
    polish = "Tak, od rana.\n\nDnia 23.11.2026 o 10:00 Support Desk <support@x.pl> napisał(a):\n> Od kiedy?"
    original = "See below.\n\n-----Original Message-----\nFrom: Support\nthe old text"
    signed = "Works now, thanks.\n\n-- \nAnna Nowak\nContoso"
    assert mail_parse.strip_quoted(gmail) == "Yes, since 9:00."
    assert mail_parse.strip_quoted(outlook) == "Restarted, no change."
    assert mail_parse.strip_quoted(outlook_plain) == "Done."
    assert mail_parse.strip_quoted(polish) == "Tak, od rana."
    assert mail_parse.strip_quoted(original) == "See below."
    assert mail_parse.strip_quoted(signed) == "Works now, thanks."
    assert mail_parse.strip_quoted("> only a quote") == "> only a quote", "nothing left: the whole text is kept"


def test_html_only_mail_is_read_as_text_and_the_thread_headers_name_the_ticket():
    msg = EmailMessage()
    msg["From"] = "Anna <Anna@Contoso.pl>"
    msg["Subject"] = "Re: something"
    msg["In-Reply-To"] = "<tkt_01kabcdefghjkmnpqrstvwxyz0.evt_01kabc.0@helpdesk.example.pl>"
    msg.set_content("<html><head><style>p {}</style></head><body><p>Calls drop&nbsp;again.</p>"
                    "<div>Since <b>Monday</b>.</div></body></html>", subtype="html")
    parsed = mail_parse.parse(msg.as_bytes())
    assert parsed.from_address == "anna@contoso.pl" and parsed.from_name == "Anna"
    assert parsed.text == "Calls drop\xa0again.\n\nSince Monday."
    assert parsed.ticket_refs == ["tkt_01kabcdefghjkmnpqrstvwxyz0"]


def test_undecodable_or_senderless_mail_is_unparseable():
    with pytest.raises(mail_parse.UnparseableMail):
        mail_parse.parse(b"Subject: x\r\n\r\nno sender\r\n")
    with pytest.raises(mail_parse.UnparseableMail):
        mail_parse.parse(b"From: not an address\r\nSubject: x\r\n\r\nbody\r\n")
    odd = mail_parse.parse(b"From: a@b.pl\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nz\xc5\xbc\r\n")
    assert odd.text == "z\u017c", "an unknown charset is read as UTF-8, leniently"
