"""Fixtures of the e-mail channel's tests (imported by test_mail_in.py and test_mail_out.py):
the tickets app's SMTP listener on a free loopback port, its relay pointed at a recording SMTP
sink on another, and helpers to send mail with `aiosmtplib` and to wait for outcomes by bounded
polling (never fixed sleeps)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any, AsyncIterator

import aiosmtplib
import httpx
import pytest
from sqlalchemy import select

from services.tickets.mailer import MAIL_SINK
from shared.infra_models import OutboxMessage
from tests.support.receiver import free_port
from tests.support.smtp_sink import SmtpSink
from tests.support.waiting import until as wait_until
from tests.tickets.conftest import World

SUPPORT = "support@helpdesk.example.pl"
MAIL_FROM = f"Support Desk <{SUPPORT}>"


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    """The relay the tickets service sends to; a test may stop it (the relay is then down)."""
    sink = SmtpSink()
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
def smtp_listen_port() -> int:
    return free_port()


@pytest.fixture
def tickets_settings_overrides(smtp_sink: SmtpSink, smtp_listen_port: int) -> dict[str, Any]:
    return {"smtp_listen_port": smtp_listen_port, "mail_outbound_enabled": True, "smtp_relay_port": smtp_sink.port,
            "mail_from": MAIL_FROM}


class Mail:
    """The e-mail side of a `World`: send to the support address, watch what comes out."""

    def __init__(self, world: World, sink: SmtpSink, port: int) -> None:
        self.world, self.sink, self.port = world, sink, port

    @staticmethod
    def message(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = SUPPORT
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain="client.example")
        for name, value in headers.items():
            msg[name.replace("_", "-")] = value
        msg.set_content(body)
        return msg

    async def send(self, message: EmailMessage | bytes, *, sender: str | None = None,
                   recipients: list[str] | None = None) -> aiosmtplib.SMTPResponse:
        """Through real SMTP; returns the server's answer to DATA (raises on a 4xx/5xx)."""
        if isinstance(message, EmailMessage):
            sender = sender if sender is not None else parseaddr(str(message["From"]))[1]
            raw = message.as_bytes()
        else:
            sender, raw = sender or "", message
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port, start_tls=False, timeout=30) as smtp:
            await smtp.mail(sender)
            for recipient in recipients or [SUPPORT]:
                await smtp.rcpt(recipient)
            return await smtp.data(raw)

    async def mail_rows(self) -> list[OutboxMessage]:
        db = self.world.tickets_app.state.runtime.db
        async with db.session() as session:
            stmt = select(OutboxMessage).where(OutboxMessage.sink == MAIL_SINK).order_by(OutboxMessage.id)
            return list((await session.execute(stmt)).scalars())

    async def settled(self) -> None:
        """Every mail the outbox holds has been delivered (or given up): nothing more will come."""
        async def done() -> bool:
            return all(r.delivered_at is not None or r.failed_at is not None for r in await self.mail_rows())

        await wait_until(done, what="every outgoing mail delivered")

    async def inbound(self, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else {}
        response = await self.world.tickets("supervisor").get("/v1/inbound-mail", params=params)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def register(self, email: str, customer_id: str = "cust-1", product: str = "office365-support",
                       name: str | None = "Anna Nowak") -> httpx.Response:
        response = await self.world.tickets("crm").put(f"/v1/contacts/{email}", json={
            "customer_id": customer_id, "product": product, "name": name})
        assert response.status_code == 200, response.text
        return response

    async def tickets_of(self, customer_id: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"status": ["new", "open", "awaiting_customer", "resolved", "closed"]}
        if customer_id:
            params["customer_id"] = customer_id
        response = await self.world.tickets("supervisor").get("/v1/tickets", params=params)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


@pytest.fixture
async def mail(world: World, smtp_sink: SmtpSink, smtp_listen_port: int) -> Mail:
    listener = world.tickets_app.state.smtp_listener

    async def listening() -> bool:
        return listener is not None and listener.listening

    await wait_until(listening, what="the SMTP listener")
    return Mail(world, smtp_sink, smtp_listen_port)
