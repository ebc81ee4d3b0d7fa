"""A real SMTP server on a loopback port that records the mail it gets, standing in for the
relay in tests of the e-mail channel. It can be started late (the relay is down until then) and
told to answer `451` to the next messages."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any, Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.receiver import free_port


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_next = 0
        self._server: asyncio.AbstractServer | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="sink.test", enable_SMTPUTF8=True, loop=loop), "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    async def wait_for(self, predicate: Callable[[EmailMessage], bool] = lambda m: True, count: int = 1,
                       timeout: float = 10.0) -> list[EmailMessage]:
        """Bounded polling until `count` recorded messages satisfy `predicate`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [m for m in self.messages if predicate(m)]
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                seen = [(str(m["To"]), str(m["Subject"])) for m in self.messages]
                raise AssertionError(f"no {count} matching message(s) within {timeout}s; got {seen}")
            await asyncio.sleep(0.02)


def body_of(message: EmailMessage) -> str:
    part: Any = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
