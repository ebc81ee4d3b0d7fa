"""Outgoing e-mail: every mail leaves through the outbox (sink `mail`) to the SMTP relay, here a
recording SMTP sink on a loopback port; a relay that is down or refusing only delays mail."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from services.tickets.mailer import MAIL_SINK, MailDeliverer
from services.tickets.service.mail_templates import render
from services.tickets.settings import TicketsSettings
from shared.infra_models import OutboxMessage
from shared.runtime import Runtime
from tests.support.receiver import free_port
from tests.support.smtp_sink import body_of
from tests.tickets.conftest import at
from tests.tickets.mail_fixtures import (  # noqa: F401 - fixtures
    SUPPORT, Mail, mail, smtp_listen_port, smtp_sink, tickets_settings_overrides, wait_until,
)

REPO = Path(__file__).resolve().parents[2]
ANNA = "anna@contoso.pl"


def event(event_type: str, **data: Any) -> dict[str, Any]:
    return {"id": "evt_1", "type": event_type, "source": "tickets", "occurred_at": "2026-11-23T09:00:00+00:00",
            "subject": None, "data": data}


# ---- the relay: down, refusing, then up -------------------------------------------------------


async def test_a_relay_that_is_down_leaves_the_mail_pending_until_it_is_up(world, mail: Mail):
    await mail.sink.stop()  # the relay is down
    await world.contract("cust-1", "o365-standard")
    ticket = (await world.file(contact={"name": "Anna Nowak", "email": ANNA})).json()

    async def failed_once() -> bool:
        rows = await mail.mail_rows()
        return bool(rows) and rows[0].attempts >= 1

    await wait_until(failed_once, what="a failed delivery attempt")
    [row] = await mail.mail_rows()
    assert row.event_type == "ticket.created" and row.delivered_at is None and row.failed_at is None
    assert "Connect" in (row.last_error or "") or "refused" in (row.last_error or "").lower(), row.last_error

    await mail.sink.start()  # the relay is back; the retry is due once its backoff has passed
    world.clock.advance(timedelta(seconds=1))
    world.tickets_app.state.runtime.after_commit()
    [ack] = await mail.sink.wait_for(lambda m: ANNA in str(m["To"]))
    assert f"[#{ticket['id']}]" in str(ack["Subject"])
    await mail.settled()
    [row] = await mail.mail_rows()
    assert row.delivered_at is not None and row.attempts >= 1


async def test_a_relay_that_refuses_at_first_gets_the_same_mail_again(world, mail: Mail):
    mail.sink.refuse_next = 2  # 451 twice
    await world.contract("cust-1", "o365-standard")
    await world.file(contact={"name": "Anna Nowak", "email": ANNA})

    async def attempts() -> int:
        rows = await mail.mail_rows()
        return rows[0].attempts if rows else 0

    for failures in (1, 2):
        async def reached(n: int = failures) -> bool:
            return await attempts() >= n

        await wait_until(reached, what=f"{failures} refused attempt(s)")
        assert "451" in ((await mail.mail_rows())[0].last_error or "")
        world.clock.advance(timedelta(seconds=1))
        world.tickets_app.state.runtime.after_commit()

    [ack] = await mail.sink.wait_for(lambda m: ANNA in str(m["To"]))
    await mail.settled()
    [row] = await mail.mail_rows()
    assert row.attempts == 2 and row.delivered_at is not None
    assert ack["Message-ID"] == MailDeliverer(world.settings).messages(row)[0]["Message-ID"], "stable across retries"


# ---- what is mailed -------------------------------------------------------------------------


async def test_resolution_is_mailed_and_a_reply_reopens_the_ticket(world, mail: Mail):
    await world.contract("cust-1", "o365-standard")
    tid = (await world.file(contact={"name": "Anna Nowak", "email": ANNA})).json()["id"]
    resolved = await world.tickets("agent").post(f"/v1/tickets/{tid}/resolve", json={"note": "Updated the client."})
    assert resolved.status_code == 200

    [notice] = await mail.sink.wait_for(lambda m: str(m["Subject"]).startswith("Resolved:"))
    assert f"[#{tid}]" in str(notice["Subject"]) and "Updated the client." in body_of(notice)
    assert "within 14 days" in body_of(notice)

    await mail.send(mail.message(ANNA, f"Re: {notice['Subject']}", "Sorry, the calls still drop after the update."))
    assert (await world.tickets("agent").get(f"/v1/tickets/{tid}")).json()["status"] == "open"


async def test_a_force_majeure_notice_goes_to_every_affected_customer_with_the_expected_duration_R_T6(world, mail):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract("cust-1", "o365-standard")
    await world.contract("cust-2", "o365-standard")
    first = (await world.file(contact={"name": "Anna", "email": ANNA})).json()["id"]
    second = (await world.file(customer_id="cust-2", contact={"name": "Ewa", "email": "ewa@fabrikam.pl"})).json()["id"]
    await mail.sink.wait_for(count=2)  # the two acknowledgements

    declared = await world.tickets("supervisor").post("/v1/outage-windows", json={
        "kind": "force_majeure", "starts_at": at("2026-11-23 10:00").isoformat(),
        "ends_at": at("2026-11-23 12:30").isoformat(), "description": "Microsoft 365 outage in EU datacentres",
        "products": ["office365-support"]})
    assert declared.status_code == 201, declared.text

    notices = await mail.sink.wait_for(lambda m: "interruption" in str(m["Subject"]), count=2)
    by_recipient = {str(m["To"]): m for m in notices}
    assert set(by_recipient) == {ANNA, "ewa@fabrikam.pl"}
    assert str(by_recipient[ANNA]["Subject"]) == f"Support interruption notice [#{first}]"
    assert str(by_recipient["ewa@fabrikam.pl"]["Subject"]) == f"Support interruption notice [#{second}]"
    text = body_of(by_recipient["ewa@fabrikam.pl"])
    assert "expected duration: 2 h 30 min" in text and "force majeure" in text and "EU datacentres" in text
    assert "Mon 23 Nov 2026, 10:00 (Warsaw time)" in text


async def test_failed_callback_attempts_are_mailed_to_the_orders_address_R_S2(world, mail: Mail):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract(customer_id="sage-1", plan_id="sage-warranty-prestige")
    created = await world.tickets("crm").post("/v1/callbacks", json={
        "customer_id": "sage-1", "product": "sage-warranty", "calling_number": "+48 600 100 200",
        "order_number": "+48 22 555 01 02", "contact_email": "zamowienia@firma.pl"})
    assert created.status_code == 201, created.text
    answer = await world.tickets("agent").post(f"/v1/callbacks/{created.json()['id']}/attempts",
                                               json={"outcome": "no_answer"})
    assert answer.status_code == 201, answer.text

    [told] = await mail.sink.wait_for(lambda m: "zamowienia@firma.pl" in str(m["To"]))
    assert "+48 600 100 200" in body_of(told) and "attempt 1 of 3" in body_of(told) and "2 more" in body_of(told)


async def test_billings_overdue_and_terminable_notices_are_mailed_to_the_buyer_R_B5(world, mail: Mail):
    notice = {"contract_id": "ctr_1", "customer_id": "cust-1", "email": "ksiegowosc@contoso.pl",
              "amount_due": "121.77", "currency": "PLN", "since": "2026-11-10",
              "invoices": [{"number": "FV/2026/11/000007", "gross_total": "121.77", "amount_paid": "0.00",
                            "currency": "PLN", "due_date": "2026-11-10"}]}
    service = world.tickets("service")
    for event_id, kind, extra in (("evt_due_1", "payment_overdue", {"reason": "payment overdue"}),
                                  ("evt_term_1", "terminable", {"days_late": 8})):
        delivered = await service.post("/v1/events", json={
            "id": event_id, "type": f"contract.{kind}", "source": "billing", "subject": "ctr_1",
            "occurred_at": "2026-11-18T09:00:00Z", "data": {**notice, **extra}})
        assert delivered.json()["outcome"] == "applied", delivered.text
    again = await service.post("/v1/events", json={  # billing's outbox delivers it again: no second mail
        "id": "evt_due_1", "type": "contract.payment_overdue", "source": "billing", "subject": "ctr_1",
        "occurred_at": "2026-11-18T09:00:00Z", "data": notice})
    assert again.json()["outcome"] == "duplicate"

    told = await mail.sink.wait_for(lambda m: "ksiegowosc@contoso.pl" in str(m["To"]), count=2)
    overdue, terminable = sorted(told, key=lambda m: "terminated" in str(m["Subject"]))
    assert "suspended" in str(overdue["Subject"]) and "121.77 PLN" in body_of(overdue)
    assert "FV/2026/11/000007" in body_of(overdue) and "free plan" in body_of(overdue)
    assert "8 days late" in body_of(terminable)
    assert len([m for m in mail.sink.messages if "ksiegowosc@contoso.pl" in str(m["To"])]) == 2


# ---- rendering (pure) -----------------------------------------------------------------------


def test_events_that_mean_no_mail_render_nothing():
    base = {"ticket_id": "tkt_1", "subject": "s", "contact_email": ANNA}
    assert render(event("ticket.replied", **base, author_kind="customer", body="my words")) == []
    assert render(event("ticket.sla_breached", **base)) == [], "no recipient field: nothing"
    assert render(event("ticket.created", **{**base, "contact_email": None})) == []
    assert render(event("mail.auto_reply", email=ANNA, kind="no_such_kind")) == []


def test_complaint_events_and_unknown_ones_with_an_email_are_rendered():
    [extended] = render(event("complaint.extended", complaint_id="cmp_1", subject="Late answer", email=ANNA,
                              extended_to="2027-01-20", reason="needs the vendor's analysis", ticket_id="tkt_9"))
    assert extended.to == ANNA and "2027-01-20" in extended.body and "[#tkt_9]" in extended.subject
    [answered] = render(event("complaint.answered", complaint_id="cmp_1", subject="Late answer", email=ANNA,
                              answer="We apologise; the fee is credited."))
    assert "the fee is credited" in answered.body
    [generic] = render(event("warranty.renewed", email=ANNA, plan_id="sage-warranty-vip", months=12))
    assert generic.to == ANNA and "plan id: sage-warranty-vip" in generic.body


def test_a_free_plans_acknowledgement_names_an_estimate_and_its_limit():
    [ack] = render(event("ticket.created", ticket_id="tkt_1", subject="s", contact_email=ANNA, plan_name="Free",
                         reaction_contractual=False, reaction_due_at="2026-11-24T09:00:00+00:00",
                         limit_due_at="2026-11-25T09:00:00+00:00"))
    assert "estimated response time" in ack.body and "at the latest Wed 25 Nov 2026, 10:00" in ack.body


# ---- the runtime's extra sinks ------------------------------------------------------------------


async def test_a_service_registers_extra_sinks_on_the_runtime_which_routes_and_closes_them(tmp_path):
    settings = TicketsSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 't.db'}", jwks_url="http://jwks",
                               event_sinks={})
    closed: list[str] = []

    class Recording:
        def __init__(self) -> None:
            self.got: list[str] = []

        async def __call__(self, sink: str, message: OutboxMessage) -> None:
            self.got.append(sink)

        async def aclose(self) -> None:
            closed.append("mail")

    recording = Recording()
    runtime = Runtime(settings, extra_sinks={"mail": (["ticket.created", "mail.*"], recording)})
    assert runtime.resolve_sinks("ticket.created") == ["mail"] and runtime.resolve_sinks("mail.auto_reply") == ["mail"]
    assert runtime.resolve_sinks("ticket.replied") == []
    await runtime.deliverer("mail", OutboxMessage(event_id="e", event_type="ticket.created", sink="mail", payload={}))
    assert recording.got == ["mail"]
    await runtime.stop()
    assert closed == ["mail"]

    with pytest.raises(ValueError, match="clash"):
        Runtime(settings.model_copy(update={"event_sinks": {"mail": {"url": "http://x", "events": ["*"]}}}),
                extra_sinks={"mail": (["*"], recording)})


def test_outgoing_mail_can_be_switched_off():
    assert MAIL_SINK == "mail"
    from services.tickets.mailer import mail_sinks

    assert mail_sinks(TicketsSettings(mail_outbound_enabled=False)) == {}
    assert list(mail_sinks(TicketsSettings())) == ["mail"]


# ---- the listener's life cycle ------------------------------------------------------------------


async def test_a_listener_whose_port_is_taken_retries_and_reports_not_ready_until_it_listens(world, mail, monkeypatch):
    from services.tickets import smtp_listener

    assert (await world.tickets(None).get("/readyz")).status_code == 200  # the app's own listener is up
    monkeypatch.setattr(smtp_listener, "RETRY_BIND_SECONDS", 0.02)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    app = world.tickets_app.state
    handler = smtp_listener.InboundMailHandler(app.runtime, world.settings, app.entitlements)
    listener = smtp_listener.SmtpListener(handler, "127.0.0.1", port, server_hostname="helpdesk.example.pl",
                                          data_size_limit=1024)
    task = asyncio.create_task(listener.run())
    try:
        with pytest.raises(RuntimeError, match="not listening"):
            await listener.ready(world.tickets_app.state.runtime)
        taken.close()  # the port becomes free: the next retry binds it

        async def listening() -> bool:
            return listener.listening

        await wait_until(listening, what="the retried bind")
        await listener.ready(world.tickets_app.state.runtime)
    finally:
        taken.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not listener.listening


# ---- the development mail sink -------------------------------------------------------------------


@pytest.mark.timeout(60)
async def test_supportctl_mailsink_writes_each_message_as_an_eml_file_and_stops_on_sigterm(tmp_path):
    port, folder = free_port(), tmp_path / "mail"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    process = subprocess.Popen([sys.executable, "-m", "services.cli.main", "mailsink", "--dir", str(folder),
                                "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        async def accepting() -> bool:
            try:
                smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=1)
                await smtp.connect()
                await smtp.quit()
                return True
            except (OSError, aiosmtplib.SMTPException):
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                return False

        await wait_until(accepting, timeout=20, what="the mail sink")
        msg = Mail.message(SUPPORT, "Twoje zgłoszenie [#tkt_1]", "Zażółć gęślą jaźń.")
        msg.replace_header("To", ANNA)
        await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, start_tls=False)

        async def written() -> bool:
            return len(list(folder.glob("*.eml"))) == 1

        await wait_until(written, what="an .eml file")
        [eml] = folder.glob("*.eml")
        stored = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert str(stored["Subject"]) == "Twoje zgłoszenie [#tkt_1]"
        assert "Zażółć gęślą jaźń." in body_of(stored)  # type: ignore[arg-type]

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the session this test started, only
            process.wait()
