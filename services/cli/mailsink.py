"""`supportctl mailsink`: the development mail sink. A tiny SMTP server (aiosmtpd) that accepts
every message and writes it as an `.eml` file into a folder, so the mail the tickets service
sends in development lands somewhere visible (`supportctl up` runs it on port 1025, where the
tickets service's relay points, and writes to `DATA_DIR/mail/`). Never for production: it
accepts anything from anyone on the address it listens on."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
import signal
from datetime import datetime, timezone
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("supportctl.mailsink")


class EmlFolder:
    """aiosmtpd handler: each message becomes `<UTC time>-<n>-<subject>.eml` in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        subject = str(email.message_from_bytes(raw, policy=email.policy.default).get("Subject") or "")
        slug = re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-")[:60] or "mail"
        self.count += 1
        name = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{self.count:04d}-{slug}.eml"
        target = self.folder / name
        partial = target.with_suffix(".part")
        partial.write_bytes(raw)
        partial.replace(target)  # readers never see half a file
        print(f"mail from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}: {target}", flush=True)
        return "250 OK"


async def serve(folder: Path, host: str, port: int, *, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set, or until SIGTERM/SIGINT when none is given."""
    folder.mkdir(parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    handler = EmlFolder(folder)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mailsink.localhost", enable_SMTPUTF8=True, loop=loop), host, port)
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    print(f"mail sink: smtp://{host}:{port} → {folder}", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
