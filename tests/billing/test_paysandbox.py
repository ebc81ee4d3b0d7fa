"""The payment sandbox over real HTTP, driven through `HttpPaymentProvider`: the module serves one
sandbox and one webhook receiver with uvicorn on loopback ports, and each test uses its own
idempotency keys. No database is involved, so nothing here asks for the backend-parametrised
fixtures: every test runs once."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook

from services.billing.payments.http_provider import HttpPaymentProvider
from services.billing.payments.provider import (
    ChargeRequest, InvalidWebhookSignature, PaymentMethod, ProviderRejected, ProviderThrottled, ProviderUnavailable,
)
from services.paysandbox.app import SandboxSettings, create_app
from tests.support.served import Served, free_port

API_KEY = "sk_test_paysandbox"
SECRET = "whsec_" + "dGVzdC1wYXlzYW5kYm94LXdlYmhvb2stc2VjcmV0"  # base64 of a test-only secret
NO_ANSWER_CARD = "4000000000000119"

Delivery = tuple[dict[str, str], bytes]


class WebhookInbox:
    """The billing side's webhook endpoint: records each delivery's headers and exact body, and
    can be told to answer 500 to the first few deliveries of one charge (by idempotency key)."""

    def __init__(self) -> None:
        self.received: list[Delivery] = []
        self.refusals: dict[str, int] = {}  # idempotency key -> deliveries still to refuse
        self._arrived = asyncio.Event()
        app = FastAPI()

        @app.post("/hooks/payments")
        async def receive(request: Request) -> Response:
            body = await request.body()
            key = json.loads(body)["data"]["idempotency_key"]
            if self.refusals.get(key, 0) > 0:
                self.refusals[key] -= 1
                return Response(status_code=500)
            self.received.append((dict(request.headers), body))
            self._arrived.set()
            return Response(status_code=204)

        self.served = Served(app)
        self.url = f"{self.served.base_url}/hooks/payments"

    def for_charge(self, charge_id: str) -> list[Delivery]:
        return [d for d in self.received if json.loads(d[1])["data"]["id"] == charge_id]

    async def wait_for(self, charge_id: str, count: int = 1, timeout: float = 5.0) -> list[Delivery]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self._arrived.clear()
            found = self.for_charge(charge_id)
            if len(found) >= count:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{len(found)} of {count} webhooks for {charge_id} within {timeout}s")
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass


@dataclass
class World:
    url: str
    inbox: WebhookInbox
    provider: HttpPaymentProvider
    control: httpx.AsyncClient  # raw HTTP with the API key, for the /sandbox controls


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    inbox = WebhookInbox()
    settings = SandboxSettings(api_key=API_KEY, webhook_url=inbox.url, webhook_secret=SECRET, processing_delay=0.05,
                               no_answer_delay=5.0, webhook_max_attempts=4, webhook_backoff_base=0.01)
    async with inbox.served, Served(create_app(settings), lifespan="on") as url:
        provider = HttpPaymentProvider(url, API_KEY, SECRET, timeout=2.0)
        async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {API_KEY}"}) as control:
            yield World(url, inbox, provider, control)
        await provider.aclose()


def charge_request(key: str, instrument: str, amount: str = "123.45", method: PaymentMethod = "card") -> ChargeRequest:
    return ChargeRequest(idempotency_key=key, amount=Decimal(amount), currency="PLN", method=method,
                         instrument=instrument, description="Plan Gold, listopad 2026", reference="FV/2026/11/0001")


async def test_card_success_is_confirmed_by_a_verified_webhook(world: World) -> None:
    created = await world.provider.create_charge(charge_request("k-ok", "4242424242424242"))
    assert created.id is not None and created.status == "pending"
    assert (created.amount, created.amount_paid, created.failure_code) == (Decimal("123.45"), Decimal("0.00"), None)

    [(headers, body)] = await world.inbox.wait_for(created.id)
    event = world.provider.parse_webhook(headers, body)
    assert event.id == headers["webhook-id"] and event.type == "charge.succeeded"
    assert event.charge.id == created.id and event.charge.idempotency_key == "k-ok"
    assert (event.charge.status, event.charge.amount_paid) == ("succeeded", Decimal("123.45"))
    assert (await world.provider.find_charge("k-ok")) == event.charge


@pytest.mark.parametrize(("card", "code"), [("4000000000009995", "insufficient_funds"),
                                             ("4000000000000069", "expired_card")])
async def test_declined_card_fails_with_the_code(world: World, card: str, code: str) -> None:
    created = await world.provider.create_charge(charge_request(f"k-{code}", card))
    [(headers, body)] = await world.inbox.wait_for(created.id)  # type: ignore[arg-type]
    event = world.provider.parse_webhook(headers, body)
    assert event.type == "charge.failed"
    assert (event.charge.status, event.charge.failure_code, event.charge.amount_paid) == ("failed", code, 0)


@pytest.mark.parametrize(("iban", "amount", "event_type", "paid", "code"), [
    ("PL61109010140000071219812874", "100.01", "charge.succeeded", "100.01", None),
    ("PL27114020040000300201355387", "100.01", "charge.failed", "0.00", "insufficient_funds"),
    ("PL83101010230000261395100000", "100.01", "charge.partially_paid", "50.00", None),  # half, rounded down
])
async def test_direct_debit_outcomes(world: World, iban: str, amount: str, event_type: str, paid: str,
                                     code: str | None) -> None:
    created = await world.provider.create_charge(charge_request(f"k-{iban}", iban, amount, method="direct_debit"))
    [(headers, body)] = await world.inbox.wait_for(created.id)  # type: ignore[arg-type]
    event = world.provider.parse_webhook(headers, body)
    assert (event.type, event.charge.status) == (event_type, event_type.removeprefix("charge."))
    assert (event.charge.amount, event.charge.amount_paid, event.charge.failure_code) == (
        Decimal(amount), Decimal(paid), code)


async def test_no_answer_is_unknown_then_reconciled_by_key(world: World) -> None:
    impatient = HttpPaymentProvider(world.url, API_KEY, SECRET, timeout=0.3)
    try:
        started = time.monotonic()
        outcome = await impatient.create_charge(charge_request("k-silent", NO_ANSWER_CARD))
        assert time.monotonic() - started < 2.0
        assert (outcome.status, outcome.id, outcome.idempotency_key) == ("unknown", None, "k-silent")

        found = await world.provider.find_charge("k-silent")
        assert found is not None and found.id is not None  # the provider did create it
        [(headers, body)] = await world.inbox.wait_for(found.id)
        assert world.provider.parse_webhook(headers, body).charge.status == "succeeded"
        settled = await world.provider.find_charge("k-silent")
        assert settled is not None and (settled.id, settled.status) == (found.id, "succeeded")
        replayed = await impatient.create_charge(charge_request("k-silent", NO_ANSWER_CARD))  # answers at once
        assert (replayed.id, replayed.status) == (found.id, "succeeded")
    finally:
        await impatient.aclose()


async def test_a_key_replays_its_charge_and_refuses_another_body(world: World) -> None:
    first = await world.provider.create_charge(charge_request("k-replay", "4242424242424242"))
    again = await world.provider.create_charge(charge_request("k-replay", "4242424242424242"))
    assert again.id == first.id
    with pytest.raises(ProviderRejected) as refused:
        await world.provider.create_charge(charge_request("k-replay", "4242424242424242", amount="123.46"))
    assert refused.value.code == "idempotency_key_reused"
    found = await world.provider.find_charge("k-replay")
    assert found is not None and (found.id, found.amount) == (first.id, Decimal("123.45"))


@pytest.mark.parametrize(("request_", "code"), [
    (charge_request("k-bad", "4242424242424241"), "invalid_card_number"),  # Luhn fails
    (charge_request("k-bad", "424242424242424"), "invalid_card_number"),  # 15 digits
    (charge_request("k-bad", "PL61109010140000071219812875", method="direct_debit"), "invalid_iban"),  # mod-97
    (charge_request("k-bad", "4242424242424242", amount="10.001"), "invalid_amount"),
    (charge_request("k-bad", "4242424242424242", amount="0"), "invalid_amount"),
], ids=["luhn", "short-pan", "iban-mod97", "three-places", "zero"])
async def test_invalid_requests_are_rejected_and_create_nothing(world: World, request_: ChargeRequest,
                                                                code: str) -> None:
    with pytest.raises(ProviderRejected) as rejected:
        await world.provider.create_charge(request_)
    assert rejected.value.code == code
    assert await world.provider.find_charge("k-bad") is None


async def test_tampered_unsigned_or_stale_webhooks_are_refused(world: World) -> None:
    created = await world.provider.create_charge(charge_request("k-sig", "4242424242424242"))
    [(headers, body)] = await world.inbox.wait_for(created.id)  # type: ignore[arg-type]
    tampered = body.replace(b'"amount_paid":"123.45"', b'"amount_paid":"999.99"')
    assert tampered != body
    with pytest.raises(InvalidWebhookSignature):
        world.provider.parse_webhook(headers, tampered)
    with pytest.raises(InvalidWebhookSignature):
        world.provider.parse_webhook({k: v for k, v in headers.items() if k != "webhook-signature"}, body)

    def signed_at(moment: datetime) -> dict[str, str]:
        signature = Webhook(SECRET).sign(msg_id=headers["webhook-id"], timestamp=moment, data=body.decode())
        return {**headers, "webhook-timestamp": str(int(moment.timestamp())), "webhook-signature": signature}

    now = datetime.now(timezone.utc)
    assert world.provider.parse_webhook(signed_at(now), body).charge.id == created.id  # re-signing itself is fine
    with pytest.raises(InvalidWebhookSignature):
        world.provider.parse_webhook(signed_at(now - timedelta(minutes=10)), body)


async def test_resend_delivers_the_same_event_again(world: World) -> None:
    created = await world.provider.create_charge(charge_request("k-dup", "4242424242424242"))
    [first] = await world.inbox.wait_for(created.id)  # type: ignore[arg-type]
    response = await world.control.post(f"/sandbox/charges/{created.id}/resend-webhook")
    assert response.status_code == 202, response.text
    deliveries = await world.inbox.wait_for(created.id, count=2)  # type: ignore[arg-type]
    events = [world.provider.parse_webhook(headers, body) for headers, body in deliveries]
    assert events[0].id == events[1].id == response.json()["event_id"] == first[0]["webhook-id"]
    log = (await world.control.get("/sandbox/webhook-deliveries", params={"charge_id": created.id})).json()["data"]
    assert [(a["event_id"], a["status_code"]) for a in log] == [(events[0].id, 204)] * 2


async def test_failed_deliveries_are_retried(world: World) -> None:
    world.inbox.refusals["k-retry"] = 2
    created = await world.provider.create_charge(charge_request("k-retry", "4242424242424242"))
    [(headers, body)] = await world.inbox.wait_for(created.id)  # type: ignore[arg-type]
    event = world.provider.parse_webhook(headers, body)
    log = (await world.control.get("/sandbox/webhook-deliveries", params={"charge_id": created.id})).json()["data"]
    assert [(a["event_id"], a["attempt"], a["status_code"]) for a in log] == [
        (event.id, 1, 500), (event.id, 2, 500), (event.id, 3, 204)]


async def test_requests_without_key_or_with_a_wrong_api_key_are_refused(world: World) -> None:
    body = {"amount": "1.00", "currency": "PLN", "method": "card", "instrument": "4242424242424242",
            "reference": "FV/1"}
    missing_key = await world.control.post("/v1/charges", json=body)
    assert (missing_key.status_code, missing_key.json()["error"]) == (400, "idempotency_key_missing")
    as_float = await world.control.post("/v1/charges", json={**body, "amount": 1.0}, headers={"idempotency-key": "f"})
    assert (as_float.status_code, as_float.json()["error"]) == (422, "invalid_request")
    stranger = HttpPaymentProvider(world.url, "sk_test_wrong", SECRET)
    try:
        with pytest.raises(ProviderRejected) as refused:
            await stranger.create_charge(charge_request("k-auth", "4242424242424242"))
        assert refused.value.code == "unauthorized"
    finally:
        await stranger.aclose()


async def test_over_the_rate_limit_the_sandbox_answers_429_with_retry_after_and_creates_nothing(world: World) -> None:
    assert (await world.control.put("/sandbox/limits", json={"rate_limit": 1, "rate_burst": 1})).status_code == 200
    try:
        first = await world.provider.create_charge(charge_request("k-rate-1", "4242424242424242"))
        assert first.status == "pending"
        with pytest.raises(ProviderThrottled) as throttled:
            await world.provider.create_charge(charge_request("k-rate-2", "4242424242424242"))
        assert throttled.value.retry_after >= 1  # whole seconds, as RFC 9110's delay-seconds
        raw = await world.control.get("/v1/charges", params={"idempotency_key": "k-rate-2"})
        assert (raw.status_code, raw.json()["error"]) == (429, "rate_limited")
        assert int(raw.headers["retry-after"]) >= 1
        limits = (await world.control.get("/sandbox/limits")).json()  # the test controls are never throttled
        assert limits["throttled"] == 2
        await asyncio.sleep(throttled.value.retry_after)
        assert await world.provider.find_charge("k-rate-2") is None  # the refused create left nothing behind
    finally:
        await world.control.put("/sandbox/limits", json={})


async def test_an_unreachable_provider_is_unknown_on_create_and_unavailable_on_find() -> None:
    nowhere = HttpPaymentProvider(f"http://127.0.0.1:{free_port()}", API_KEY, SECRET, timeout=1.0)
    try:
        assert (await nowhere.create_charge(charge_request("k-down", "4242424242424242"))).status == "unknown"
        with pytest.raises(ProviderUnavailable):
            await nowhere.find_charge("k-down")
    finally:
        await nowhere.aclose()
