"""Outgoing e-mail: the outbox deliverer of the `mail` sink (registered on the runtime by
main.py), sending through the configured SMTP relay with `aiosmtplib`.

The outbox is the only way out: a service emits an event in its transaction, the relay hands
the committed row to `MailDeliverer`, which renders it (service/mail_templates.py) and sends the
mails over one SMTP connection. Any failure raises, so the relay retries with backoff and finally
dead-letters the row; "nothing to send" (an event that means no mail) counts as delivered. An
event that stands for several mails (an outage notice to every affected customer) is retried
whole: a customer may then get a mail twice, with the same Message-ID.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib

from services.tickets.service.mail_templates import MAIL_EVENTS, build_message, domain_of, render
from services.tickets.settings import TicketsSettings
from shared.infra_models import OutboxMessage

log = logging.getLogger("tickets.mail")

MAIL_SINK = "mail"


class MailDeliverer:
    def __init__(self, settings: TicketsSettings) -> None:
        self.settings = settings

    def messages(self, message: OutboxMessage) -> list[EmailMessage]:
        """The mails one outbox row stands for (separate from sending, for tests and tooling)."""
        event = message.payload
        occurred_at = datetime.fromisoformat(event["occurred_at"])
        return [build_message(mail, event_id=event["id"], index=index, occurred_at=occurred_at,
                              mail_from=self.settings.mail_from, reply_to=self.settings.support_mailbox)
                for index, mail in enumerate(render(event, reopen_days=self.settings.reopen_days))]

    async def __call__(self, sink: str, message: OutboxMessage) -> None:
        mails = self.messages(message)
        if not mails:
            return
        s = self.settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_relay_host, port=s.smtp_relay_port, username=s.smtp_relay_username,
                               password=s.smtp_relay_password, start_tls=s.smtp_relay_starttls,
                               timeout=s.smtp_relay_timeout, local_hostname=domain_of(s.mail_from))
        async with smtp:
            for mail in mails:
                await smtp.send_message(mail, sender=s.support_mailbox)
        log.info("mail sent", extra={"event_id": message.event_id, "event_type": message.event_type,
                                     "mails": len(mails)})

    async def aclose(self) -> None:
        """Nothing is kept open between deliveries (one connection per outbox row)."""


def mail_sinks(settings: TicketsSettings) -> dict[str, tuple[tuple[str, ...], MailDeliverer]]:
    """The runtime's extra sinks for the e-mail channel (none when outgoing mail is disabled)."""
    if not settings.mail_outbound_enabled:
        return {}
    return {MAIL_SINK: (MAIL_EVENTS, MailDeliverer(settings))}
