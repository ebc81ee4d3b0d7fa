"""Billing tests: entitlements, billing and the payment-provider sandbox as three real HTTP
servers (uvicorn on loopback ports) that talk to each other through their outboxes and signed
webhooks; every event also reaches a recording receiver. One injected clock for both services."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import httpx
import pytest

from services.billing.main import create_app as create_billing
from services.billing.models import metadata as billing_metadata
from services.billing.settings import BillingSettings
from services.entitlements.main import create_app as create_entitlements
from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file
from services.entitlements.settings import EntitlementsSettings
from services.paysandbox.app import SandboxSettings, create_app as create_sandbox
from shared.clock import FixedClock
from shared.devkeys import DEV_KID, mint_token
from shared.settings import EventSink
from tests.entitlements.helpers import purchase_body
from tests.support.clients import ClientPool
from tests.support.receiver import EventReceiver
from tests.support.served import Served, free_port
from tests.support.waiting import until

CARD_OK, CARD_NO_FUNDS, CARD_EXPIRED, CARD_NO_ANSWER = (
    "4242424242424242", "4000000000009995", "4000000000000069", "4000000000000119")
IBAN_OK, IBAN_NO_FUNDS, IBAN_PARTIAL = (
    "PL61109010140000071219812874", "PL27114020040000300201355387", "PL83101010230000261395100000")

# idle connections are dropped before uvicorn's 5 s keep-alive closes them, so a kept client never
# sends on a connection the server is closing at that moment
KEEP_ALIVE = httpx.Limits(keepalive_expiry=2.0)


class BillingWorld(ClientPool):
    def __init__(self, ent_url: str, billing_url: str, sandbox_url: str, settings: BillingSettings, pem: str,
                 clock: FixedClock, receiver: EventReceiver, billing_app: Any) -> None:
        super().__init__()
        self.ent_url, self.billing_url, self.sandbox_url = ent_url, billing_url, sandbox_url
        self.settings, self.pem, self.clock, self.receiver = settings, pem, clock, receiver
        self.billing_app = billing_app
        self._by_caller: dict[tuple[str, str | None, str | None, str | None], httpx.AsyncClient] = {}

    def token(self, role: str, customer_id: str | None = None, sub: str | None = None) -> str:
        return mint_token(self.pem, kid=DEV_KID, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience,
                          subject=sub or f"test-{role}", role=role, customer_id=customer_id)

    def _client(self, base: str, role: str | None, customer_id: str | None = None, sub: str | None = None,
                ) -> httpx.AsyncClient:
        """One client per caller, kept for the test: minting a token (an RSA signature) and building
        a client (an SSL context) cost tens of milliseconds each, more than the request."""
        key = (base, role, customer_id, sub)
        if key not in self._by_caller:
            self._by_caller[key] = self.pooled(self.token(role, customer_id, sub) if role else None,
                                               base_url=base, timeout=30, limits=KEEP_ALIVE)
        return self._by_caller[key]

    def billing(self, role: str | None = "admin", customer_id: str | None = None, sub: str | None = None
                ) -> httpx.AsyncClient:
        return self._client(self.billing_url, role, customer_id, sub)

    def entitlements(self, role: str = "admin", sub: str | None = None) -> httpx.AsyncClient:
        return self._client(self.ent_url, role, sub=sub)

    def sandbox(self) -> httpx.AsyncClient:
        key = (self.sandbox_url, None, None, "sandbox")
        if key not in self._by_caller:
            self._by_caller[key] = self.pooled("sk_test_dev", base_url=self.sandbox_url, timeout=30, limits=KEEP_ALIVE)
        return self._by_caller[key]

    async def buy(self, instrument: str | None = CARD_OK, *, method: str = "card", customer_id: str = "cust-1",
                  plan_id: str = "o365-standard", shop_sub: str = "test-shop", **kw: Any) -> dict[str, Any]:
        """An add-on purchase in the shop; billing learns of it through entitlements' outbox."""
        body = purchase_body(customer_id=customer_id, plan_id=plan_id, reference=f"t-{uuid.uuid4().hex[:8]}",
                             payment_method=method, **kw)
        if instrument is not None:
            body["billing"]["payment_instrument"] = instrument
        response = await self.entitlements("shop", sub=shop_sub).post(
            "/v1/purchases", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.text
        return response.json()

    async def contract(self, contract_id: str) -> dict[str, Any]:
        return (await self.entitlements().get(f"/v1/contracts/{contract_id}")).json()

    async def invoices(self, contract_id: str) -> list[dict[str, Any]]:
        page = (await self.billing().get("/v1/invoices", params={"contract_id": contract_id})).json()
        return sorted(page["items"], key=lambda i: i["number"])

    async def until(self, probe: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """Waits until `await probe()` is truthy (the services work asynchronously)."""
        return await until(probe, what, timeout)

    async def status(self, contract_id: str, wanted: str) -> dict[str, Any]:
        """Waits until entitlements has the contract in `wanted` and billing has heard of it
        (billing learns the status from entitlements' events, a moment later)."""
        async def probe() -> dict[str, Any] | None:
            found = await self.contract(contract_id)
            account = await self.billing().get(f"/v1/accounts/{contract_id}")
            known = account.status_code == 200 and account.json()["contract_status"] == wanted
            return found if found["status"] == wanted and known else None
        return await self.until(probe, f"contract {contract_id} to be {wanted}")

    async def invoice_where(self, contract_id: str, test: Callable[[dict[str, Any]], bool], what: str
                            ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            return next((i for i in await self.invoices(contract_id) if test(i)), None)
        return await self.until(probe, what)

@pytest.fixture
def billing_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def bw(stores, settings: EntitlementsSettings, keys: tuple[Path, Path], clock: FixedClock,
             receiver: EventReceiver, billing_overrides: dict[str, Any]) -> AsyncIterator[BillingWorld]:
    private, jwks = keys
    billing_port = free_port()
    billing_url = f"http://127.0.0.1:{billing_port}"
    sandbox = SandboxSettings(webhook_url=f"{billing_url}/v1/payments/webhook", processing_delay=0.05,
                              no_answer_delay=5.0, webhook_backoff_base=0.05)
    ent_settings = settings.model_copy(update={"event_sinks": {
        "billing": EventSink(url=f"{billing_url}/v1/events", events=["contract.*", "usage.overage"]),
        "consumer": EventSink(url=receiver.url, events=["*"])}})
    async with Served(create_sandbox(sandbox), lifespan="on") as sandbox_url, \
            Served(create_entitlements(ent_settings, clock=clock), lifespan="on") as ent_url:
        billing_settings = BillingSettings(**{**dict(
            environment="test", database_url=await stores.fresh_url("billing", billing_metadata), jwks_file=jwks,
            signing_key_file=private, signing_key_id=DEV_KID, relay_poll_interval=0.05, relay_backoff_base=0.01,
            relay_backoff_max=0.05, payment_provider_url=sandbox_url, payment_provider_timeout=1.0,
            charge_interval=0.05, entitlements_url=ent_url, event_sinks={
                "entitlements": EventSink(url=f"{ent_url}/v1/events", events=[
                    "contract.paid", "contract.payment_overdue", "contract.payment_settled", "contract.terminable",
                    "contract.upgrade_paid"]),
                "consumer": EventSink(url=receiver.url, events=["*"])},
        ), **billing_overrides})
        billing_app = create_billing(billing_settings, clock=clock)
        async with Served(billing_app, lifespan="on", port=billing_port):
            world = BillingWorld(ent_url, billing_url, sandbox_url, billing_settings, private.read_text(), clock,
                                 receiver, billing_app)
            loaded = await world.entitlements().post(
                "/v1/catalogue", json=read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json"))
            assert loaded.status_code == 200, loaded.text
            yield world
            await world.close()
