"""Builds the tickets app."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from services.tickets.api import callbacks, complaints, remote_sessions, sla, supervision, tickets
from services.tickets.api import agent_ui, contacts, inbound_mail
from services.tickets.clients import EntitlementsClient
from services.tickets.events import build_inbox
from services.tickets.mailer import mail_sinks
from services.tickets.metrics import register as register_metrics
from services.tickets.service.monitor import SLA_LOOP, scan as sla_scan_as_of
from services.tickets.settings import TicketsSettings
from services.tickets.smtp_listener import smtp_listener
from shared.app import create_service_app
from shared.clock import Clock
from shared.runtime import Runtime
from shared.web.inbox import inbox_router

log = logging.getLogger("tickets")

DESCRIPTION = """Tickets with contractual reaction times counted on the plan's support hours (Polish
holidays, DST), the agent queue, SLA warnings and breaches; callbacks (R-S2), remote-help sessions whose
quota is kept by entitlements (R-S4, R-S5) and complaints (R-T9); the e-mail channel (an SMTP listener for
the support address, its contact directory, inbound mail for operators). Every request needs a bearer JWT;
errors are `{"error": code, "detail": message}`; filing a ticket needs an `Idempotency-Key`."""


def create_app(settings: TicketsSettings | None = None, *, clock: Clock | None = None,
               runtime: Runtime | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    runtime = runtime or Runtime(settings, clock=clock, extra_sinks=mail_sinks(settings))  # outgoing mail
    register_metrics(runtime)
    entitlements = EntitlementsClient(settings, runtime.tokens, settings.entitlement_cache_seconds)
    listener = smtp_listener(runtime, settings, entitlements)  # incoming mail (None when disabled)

    async def sla_scan() -> int:
        """One SLA scan: every ticket whose SLA instant has come, in chunks claimed with SKIP
        LOCKED (several replicas share it). Its work comes with time (deadlines passing), so the
        loop waits for its interval after every scan (0: idle) unless a commit wakes it
        (`uow.wake(SLA_LOOP)`)."""
        await sla_scan_as_of(runtime, runtime.clock.now(), entitlements=entitlements)
        return 0

    runtime.background_loop(SLA_LOOP, sla_scan, settings.sla_scan_interval)

    app = create_service_app(
        runtime, title="Tickets", version="1.0.0", description=DESCRIPTION,
        routers=[tickets.router, sla.router, supervision.router, callbacks.router, remote_sessions.router,
                 complaints.router, inbox_router(build_inbox(settings, entitlements)),
                 contacts.router, inbound_mail.router, agent_ui.router],
        background=[listener.run] if listener else [], on_shutdown=[entitlements.aclose],
        readiness=[listener.ready] if listener else [],
    )
    app.state.entitlements = entitlements
    app.state.smtp_listener = listener
    return app
