"""The SMTP edge of the e-mail channel: a listener for the support address, run by the tickets
app itself (`TICKETS_SMTP_LISTEN_PORT` > 0), with `aiosmtpd`.

**On the app's own event loop.** aiosmtpd's threaded `Controller` runs the SMTP server on a
second event loop in a thread; everything a message needs — the SQLAlchemy async engine and its
asyncpg/aiosqlite connections, the entitlements HTTP client, the outbox relay's wake-up event —
belongs to the app's loop and must not be used from another one (asyncpg refuses outright), so
every message would have to hop loops with `run_coroutine_threadsafe`. `UnthreadedController`
is meant for the app's loop, but its `begin()` calls `loop.run_until_complete`, impossible from
inside the running lifespan. So the listener does what `UnthreadedController` does underneath:
`loop.create_server()` with aiosmtpd's `SMTP` protocol, on the running loop, inside the app's
lifespan, and it owns an orderly shutdown (below).

**Acknowledged only after commit.** `handle_DATA` processes the message in its own unit of work
(`runtime.work()` + `uow.commit()`, service/mail_in.py), and answers
`250` only once that transaction has committed — then wakes the relay (`runtime.after_commit()`),
so auto-replies and acknowledgements leave through the outbox. A transient failure (database or
entitlements unreachable, a lock or serialization conflict) rolls back and answers `451`: the
sending MTA keeps the message and retries. Any other failure rolls back, and the raw message is
kept as `unprocessed` in a second transaction for an operator before `250`; if even that fails,
`451`. Processing runs in a task shielded from the SMTP session: a client that hangs up
mid-message cannot cut a transaction in half (the message is processed, the client retries
because it never saw `250`, and the repeat is recognised by sender and Message-ID).

**Shutdown.** Stop accepting connections, let messages being processed finish (bounded), then
close the remaining sessions — a client cut off before `250` retries later — and only then does
the app close the database.

If the port cannot be bound the app still starts, logs the error, retries every few seconds,
and reports not ready (`/readyz` 503) until the listener is up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from services.tickets.clients import EntitlementsClient
from services.tickets.errors import EntitlementsUnavailable
from services.tickets.service.mail_in import InboundMailService, Received
from services.tickets.service.mail_templates import domain_of
from services.tickets.service.tickets import TicketService
from services.tickets.settings import TicketsSettings
from shared.runtime import Runtime

log = logging.getLogger("tickets.smtp")

DRAIN_SECONDS = 15.0  # how long shutdown waits for messages being processed
RETRY_BIND_SECONDS = 5.0
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")  # connection, rollback/serialization, resources, operator


def is_transient(exc: BaseException) -> bool:
    """A failure worth a `451` (the sender retries) rather than keeping the mail as failed."""
    if isinstance(exc, (EntitlementsUnavailable, OperationalError, InterfaceError, TimeoutError, OSError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        return state[:2] in _TRANSIENT_SQLSTATE_CLASSES
    return False


class InboundMailHandler:
    """aiosmtpd handler: accepts mail for the support address, one unit of work per message."""

    def __init__(self, runtime: Runtime, settings: TicketsSettings, entitlements: EntitlementsClient) -> None:
        self.runtime, self.settings, self.entitlements = runtime, settings, entitlements
        self.in_flight: set[asyncio.Task[str]] = set()
        self.closing = False

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        mailbox = self.settings.support_mailbox
        if mailbox and address.strip().lower() != mailbox:
            return f"550 5.1.1 <{address}>: this server accepts mail for {mailbox} only"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.closing:
            return "421 4.3.2 Service shutting down, please try again later"
        raw = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        task = asyncio.get_running_loop().create_task(self.accept(bytes(raw or b""), envelope.mail_from))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        return await asyncio.shield(task)

    async def accept(self, raw: bytes, envelope_from: str | None) -> str:
        """The SMTP answer for one message: 250 only after its outcome is committed."""
        try:
            received = await self._in_unit_of_work(lambda mail: mail.receive(raw, envelope_from))
        except Exception as exc:  # noqa: BLE001 - decide between 451 and keeping it for an operator
            if is_transient(exc):
                log.warning("inbound mail deferred (451)", extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
                return "451 4.3.0 Temporary failure, please try again later"
            log.exception("inbound mail failed; kept for an operator")
            error = f"{type(exc).__name__}: {exc}"
            try:
                received = await self._in_unit_of_work(lambda mail: mail.keep_failed(raw, envelope_from, error))
            except Exception:  # noqa: BLE001 - nothing kept: the sender must keep it
                log.exception("inbound mail could not be kept (451)")
                return "451 4.3.0 Temporary failure, please try again later"
        log.info("inbound mail accepted", extra={"mail_id": received.mail_id, "status": received.status,
                                                 "outcome": received.outcome, "ticket_id": received.ticket_id,
                                                 "duplicate": received.duplicate})
        return f"250 2.0.0 OK {received.mail_id}"

    async def _in_unit_of_work(self, work: Any) -> Received:
        async with self.runtime.work() as uow:
            received: Received = await work(InboundMailService(TicketService(uow, self.settings, self.entitlements)))
            await uow.commit()
        return received

    async def drain(self, timeout: float) -> None:
        self.closing = True
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=timeout)


class _TrackedSMTP(SMTP):
    """aiosmtpd's protocol, remembered while connected so shutdown can close what is left."""

    def __init__(self, sessions: set[SMTP], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions = sessions

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sessions.discard(self)
        super().connection_lost(error)


class SmtpListener:
    def __init__(self, handler: InboundMailHandler, host: str, port: int, *, server_hostname: str,
                 data_size_limit: int) -> None:
        self.handler, self.host, self.port = handler, host, port
        self.server_hostname, self.data_size_limit = server_hostname, data_size_limit
        self.server: asyncio.AbstractServer | None = None
        self.sessions: set[SMTP] = set()

    @property
    def listening(self) -> bool:
        return self.server is not None and self.server.is_serving()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def protocol() -> SMTP:
            return _TrackedSMTP(self.sessions, self.handler, hostname=self.server_hostname,
                                ident="support-tickets ESMTP", data_size_limit=self.data_size_limit,
                                enable_SMTPUTF8=True, loop=loop)

        if logging.getLogger("mail.log").level == logging.NOTSET:  # aiosmtpd logs every command at INFO
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.server = await loop.create_server(protocol, host=self.host, port=self.port)
        log.info("SMTP listener started", extra={"host": self.host, "port": self.port})

    async def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        server.close()  # no new connections
        await self.handler.drain(drain_seconds)
        for smtp in list(self.sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        await server.wait_closed()
        log.info("SMTP listener stopped")

    async def run(self) -> None:
        """A background job of the app: listen until cancelled, retrying a port that is taken."""
        try:
            while self.server is None:
                try:
                    await self.start()
                except OSError as exc:
                    log.error("SMTP listener cannot bind; retrying", extra={
                        "host": self.host, "port": self.port, "error": str(exc)})
                    await asyncio.sleep(RETRY_BIND_SECONDS)
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def ready(self, runtime: Runtime) -> None:
        """Readiness check: mail for the support address can be accepted."""
        if not self.listening:
            raise RuntimeError(f"the SMTP listener is not listening on {self.host}:{self.port}")


def smtp_listener(runtime: Runtime, settings: TicketsSettings, entitlements: EntitlementsClient) -> SmtpListener | None:
    """The app's listener, or None when `smtp_listen_port` is 0."""
    if settings.smtp_listen_port <= 0:
        return None
    return SmtpListener(InboundMailHandler(runtime, settings, entitlements), settings.smtp_listen_host,
                        settings.smtp_listen_port, server_hostname=domain_of(settings.mail_from),
                        data_size_limit=settings.smtp_max_message_bytes)
