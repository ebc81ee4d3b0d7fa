"""Tickets tests: the tickets app (in-process ASGI) talks to a real entitlements service over
real HTTP (uvicorn on a free port); both share the injected clock and the session's backend."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.entitlements.main import create_app as create_entitlements
from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file
from services.entitlements.settings import EntitlementsSettings
from services.tickets.main import create_app as create_tickets
from services.tickets.models import metadata as tickets_metadata
from services.tickets.settings import TicketsSettings
from shared.clock import FixedClock
from shared.devkeys import DEV_KID, mint_token
from shared.settings import EventSink
from tests.entitlements.helpers import purchase_body
from tests.support.clients import ClientPool
from tests.support.receiver import EventReceiver
from tests.support.served import Served


class World(ClientPool):
    """Entitlements over real HTTP, tickets in-process, one clock, clients per role."""

    def __init__(self, tickets_app: Any, ent_url: str, settings: TicketsSettings, pem: str, clock: FixedClock,
                 receiver: EventReceiver) -> None:
        super().__init__()
        self.tickets_app, self.ent_url, self.settings = tickets_app, ent_url, settings
        self.pem, self.clock, self.receiver = pem, clock, receiver

    def token(self, role: str, customer_id: str | None = None, sub: str | None = None) -> str:
        return mint_token(self.pem, kid=DEV_KID, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience,
                          subject=sub or f"test-{role}", role=role, customer_id=customer_id)

    def _client(self, transport: Any, base: str, role: str | None, customer_id: str | None, sub: str | None
                ) -> httpx.AsyncClient:
        return self.pooled(self.token(role, customer_id, sub) if role else None, transport=transport, base_url=base,
                           timeout=30)

    def tickets(self, role: str | None = "crm", customer_id: str | None = None, sub: str | None = None
                ) -> httpx.AsyncClient:
        return self._client(httpx.ASGITransport(app=self.tickets_app), "http://tickets", role, customer_id, sub)

    def entitlements(self, role: str = "admin") -> httpx.AsyncClient:
        return self._client(None, self.ent_url, role, None, None)

    async def contract(self, customer_id: str = "cust-1", plan_id: str = "o365-standard", reference: str | None = None,
                       active: bool = True, **kw: Any) -> dict[str, Any]:
        """Buy (and pay) a plan through the entitlements API."""
        product = "sage" if plan_id.startswith("sage") else "office365"
        reference = reference or f"lic-{uuid.uuid4().hex[:8]}"
        ent = self.entitlements("admin")
        mode = "addon"
        if product == "sage":
            await ent.post(f"/v1/customers/{customer_id}/licences", json={"product": "sage", "reference": reference})
            mode = "standalone"
        response = await ent.post("/v1/purchases", headers={"Idempotency-Key": str(uuid.uuid4())}, json=purchase_body(
            customer_id=customer_id, plan_id=plan_id, mode=mode, product=product, reference=reference, **kw))
        assert response.status_code == 201, response.text
        contract = response.json()
        if active:
            activated = await ent.post(f"/v1/contracts/{contract['id']}/activate")
            assert activated.status_code == 200, activated.text
            contract = activated.json()
        return contract

    async def file(self, client: httpx.AsyncClient | None = None, **overrides: Any) -> httpx.Response:
        body = ticket_body(**overrides)
        return await (client or self.tickets("crm")).post("/v1/tickets", json=body,
                                                          headers={"Idempotency-Key": str(uuid.uuid4())})

    async def sla_scan(self, when: str) -> dict[str, Any]:
        """Runs the SLA scan as of `when` (Warsaw wall time, see `at`) as a supervisor would."""
        response = await self.tickets("supervisor").post("/v1/sla/scan", json={"as_of": at(when).isoformat()})
        assert response.status_code == 200, response.text
        return response.json()


def ticket_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": "cust-1", "product": "office365-support", "subject": "Teams calls drop",
        "description": "Since Monday every Teams call of the sales team drops after about five minutes.",
        "category": "basic_config_help", "channel": "api",
        "contact": {"name": "Anna Nowak", "email": "anna@contoso.pl"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def tickets_settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def entitlements_events() -> list[str]:
    """What entitlements sends to the test's receiver: usage.* (R-S4 quota, usage.overage for billing)."""
    return ["usage.*"]


@pytest.fixture
async def world(stores, settings: EntitlementsSettings, keys: tuple[Path, Path], clock: FixedClock,
                receiver: EventReceiver, tickets_settings_overrides: dict[str, Any],
                entitlements_events: list[str]) -> AsyncIterator[World]:
    # entitlements' events reach the same receiver as tickets' events
    ent_settings = settings.model_copy(update={"event_sinks": {"consumer": EventSink(url=receiver.url,
                                                                                   events=entitlements_events)}})
    async with Served(create_entitlements(ent_settings, clock=clock), lifespan="on") as ent_url:
        private, jwks = keys
        tickets_url = await stores.fresh_url("tickets", tickets_metadata)
        tickets_settings = TicketsSettings(**{**dict(  # an override may replace any of these
            environment="test", database_url=tickets_url, jwks_file=jwks, signing_key_file=private,
            signing_key_id=DEV_KID, entitlements_url=ent_url, relay_poll_interval=0.05, relay_backoff_base=0.01,
            relay_backoff_max=0.05, sla_scan_interval=0, entitlement_cache_seconds=0,
            smtp_listen_port=0, mail_outbound_enabled=False,  # the e-mail channel's tests turn these on
            event_sinks={"consumer": EventSink(url=receiver.url, events=["ticket.*", "outage.*", "callback.*",
                                                                           "remote_session.*", "complaint.*"])},
        ), **tickets_settings_overrides})
        app = create_tickets(tickets_settings, clock=clock)
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
            w = World(app, ent_url, tickets_settings, private.read_text(), clock, receiver)
            loaded = await w.entitlements("admin").post(
                "/v1/catalogue", json=read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json"))
            assert loaded.status_code == 200, loaded.text
            yield w
            await w.close()


def at(text: str) -> datetime:
    """An instant in Warsaw local time: at("2026-11-20 15:00")."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Warsaw"))
