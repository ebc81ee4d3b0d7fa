"""Builds the entitlements app."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from services.entitlements.api import catalogue, contracts, dispositions, entitlements, licences, upgrades, usage
from services.entitlements.events import build_inbox
from services.entitlements.metrics import register as register_metrics
from services.entitlements.models import Product
from services.entitlements.service.catalogue_cache import CatalogueCache
from services.entitlements.service.check import EntitlementChecker
from services.entitlements.settings import EntitlementsSettings
from shared.app import create_service_app
from shared.clock import Clock
from shared.runtime import Runtime
from shared.web.inbox import inbox_router

DESCRIPTION = """Catalogue, licences, contracts, upgrades, quotas and the answer to "what may this customer
have now". Every request needs a bearer JWT (RS256/ES256); errors are `{"error": code, "detail": message}`;
POSTs that create things honour `Idempotency-Key` (required for purchases)."""


async def _catalogue_loaded(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        count = (await session.execute(select(func.count()).select_from(Product))).scalar_one()
    if count == 0:
        raise RuntimeError("the catalogue is empty; run `supportctl catalogue load`")


def create_app(settings: EntitlementsSettings | None = None, *, clock: Clock | None = None,
               runtime: Runtime | None = None) -> FastAPI:
    settings = settings or EntitlementsSettings()
    runtime = runtime or Runtime(settings, clock=clock)
    register_metrics(runtime)
    app = create_service_app(
        runtime, title="Entitlements", version="1.0.0", description=DESCRIPTION,
        # the hot path first: routes are matched in order
        routers=[entitlements.router, catalogue.router, licences.router, contracts.router, upgrades.router,
                 usage.router, dispositions.router, inbox_router(build_inbox(settings))],
        readiness=[_catalogue_loaded],
    )
    app.state.catalogue_cache = CatalogueCache(ttl=settings.catalogue_cache_seconds)
    app.state.checker = EntitlementChecker(runtime.db, app.state.catalogue_cache)
    return app
