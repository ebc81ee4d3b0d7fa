"""Builds the billing app."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from services.billing.api import invoices, payments, runs, usage
from services.billing.events import build_inbox
from services.billing.metrics import register as register_metrics
from services.billing.payments.http_provider import HttpPaymentProvider
from services.billing.payments.provider import PaymentProvider
from services.billing.service.charge_runner import ChargeRunner
from services.billing.service.collection import CHARGE_LOOP
from services.billing.service.run_worker import RUN_LOOP, RunWorker
from services.billing.settings import BillingSettings
from shared.app import create_service_app
from shared.clock import Clock
from shared.runtime import Runtime
from shared.web.inbox import inbox_router

log = logging.getLogger("billing")

DESCRIPTION = """Invoices with Polish VAT and gap-free numbers (PDF and KSeF FA(3) XML), payments by card and
direct debit through the payment provider (signed webhooks), the monthly billing run with R-B4's charge window,
dunning per contract, upgrade supplements, overage from usage, and credit notes. Every request needs a bearer JWT
(the provider's webhook is signed instead); errors are `{"error": code, "detail": message}`."""


def create_app(settings: BillingSettings | None = None, *, clock: Clock | None = None,
               runtime: Runtime | None = None, provider: PaymentProvider | None = None) -> FastAPI:
    settings = settings or BillingSettings()
    runtime = runtime or Runtime(settings, clock=clock)
    register_metrics(runtime)
    provider = provider or HttpPaymentProvider(settings.payment_provider_url, settings.payment_provider_api_key,
                                               settings.payment_webhook_secret,
                                               timeout=settings.payment_provider_timeout)
    charges = ChargeRunner(runtime, settings, provider)
    # due charges submitted, unknown ones reconciled; several replicas are safe (SKIP LOCKED)
    runtime.background_loop(CHARGE_LOOP, charges.run_round, settings.charge_interval)
    # the billing runs' chunks, shared with every other replica (SKIP LOCKED, leases)
    run_worker = RunWorker(runtime, settings)
    runtime.background_loop(RUN_LOOP, run_worker.run_round, settings.billing_run_interval)

    app = create_service_app(
        runtime, title="Billing", version="1.0.0", description=DESCRIPTION,
        routers=[invoices.router, runs.router, payments.router, usage.router, inbox_router(build_inbox(settings))],
        on_shutdown=[provider.aclose],
    )
    app.state.provider = provider
    app.state.charges = charges
    app.state.run_worker = run_worker
    return app
