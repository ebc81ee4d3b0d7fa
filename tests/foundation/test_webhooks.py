"""Outgoing Standard Webhooks: outbox events delivered to external endpoints, signed, retried
with the relay's backoff and dead letters, filtered by pattern, independent of internal sinks.

The receiver is a real HTTP server that checks every delivery with the `standardwebhooks`
package, as the CRM or the shop would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, AsyncIterator

import pytest
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.entitlements.settings import EntitlementsSettings
from shared.http import HttpSinkDeliverer
from shared.infra_models import OutboxMessage
from shared.runtime import Runtime
from shared.settings import EventSink, WebhookTarget
from shared.standard_webhooks import CompositeDeliverer
from tests.entitlements.helpers import buy
from tests.foundation.conftest import outbox_rows
from tests.support.served import Served, free_port


def new_secret(size: int = 32) -> str:
    return "whsec_" + base64.b64encode(os.urandom(size)).decode()


@dataclass
class Delivery:
    name: str
    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any] | None  # what `Webhook.verify` returned; None when verification failed
    error: str | None
    status: int

    @property
    def type(self) -> str:
        return json.loads(self.body)["type"]


class WebhookReceiver:
    """Stands in for the CRM and the shop: `POST /hooks/{name}` verifies the delivery with the
    secret registered for `name`, records it, and answers 204 (400 when verification fails), or
    the next status queued in `fail[name]`."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.fail: dict[str, list[int]] = {}
        self.deliveries: list[Delivery] = []
        app = FastAPI()

        @app.post("/hooks/{name}")
        async def receive(name: str, request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers)
            try:
                payload, error = Webhook(self.secrets[name]).verify(body, headers), None
            except WebhookVerificationError as exc:
                payload, error = None, str(exc)
            queued = self.fail.get(name)
            status = queued.pop(0) if queued else (204 if error is None else 400)
            self.deliveries.append(Delivery(name, body, headers, payload, error, status))
            return Response(status_code=status)

        self.served = Served(app)
        self.port = self.served.port

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def target(self, name: str, events: list[str] | None = None, secret: str | None = None) -> WebhookTarget:
        """Registers `name` here and returns the app's setting for it (by default the same secret)."""
        self.secrets[name] = new_secret()
        return WebhookTarget(url=self.url(name), secret=secret or self.secrets[name], events=events or ["*"])

    def of(self, name: str, event_type: str | None = None, *, ok: bool | None = None) -> list[Delivery]:
        return [d for d in self.deliveries if d.name == name and (event_type is None or d.type == event_type)
                and (ok is None or (200 <= d.status < 300) == ok)]

    async def wait_for(self, name: str, event_type: str, count: int = 1, timeout: float = 10.0) -> list[Delivery]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.of(name, event_type, ok=True)) < count:
            if asyncio.get_running_loop().time() > deadline:
                seen = [(d.name, d.type, d.status) for d in self.deliveries]
                raise AssertionError(f"no {count}× {event_type} at {name} within {timeout}s; received {seen}")
            await asyncio.sleep(0.02)
        return self.of(name, event_type, ok=True)

    def reset(self) -> None:
        self.secrets.clear()
        self.fail.clear()
        self.deliveries.clear()

    async def start(self) -> None:
        await self.served.start()

    async def stop(self) -> None:
        await self.served.stop()


@pytest.fixture(scope="module")
async def hooks_server() -> AsyncIterator[WebhookReceiver]:
    rx = WebhookReceiver()
    await rx.start()
    yield rx
    await rx.stop()


@pytest.fixture
def hooks(hooks_server: WebhookReceiver) -> WebhookReceiver:
    hooks_server.reset()
    return hooks_server


@pytest.fixture(autouse=True)
def _no_webhooks_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENTITLEMENTS_WEBHOOKS", raising=False)


async def _row(api: Any, sink: str, event_type: str, nth: int = 0) -> OutboxMessage:
    return [r for r in await outbox_rows(api) if r.sink == sink and r.event_type == event_type][nth]


# ---- a signed delivery ------------------------------------------------------------------------


async def test_a_purchase_sends_a_signed_contract_created_webhook_that_verifies(make_api, hooks, receiver):
    api = await make_api(webhooks={"crm": hooks.target("crm", events=["contract.*"])})
    contract = (await buy(api.client("shop"), reference="tenant-w1")).json()

    [delivery] = await hooks.wait_for("crm", "contract.created")
    assert delivery.error is None and delivery.status == 204
    event = delivery.payload
    assert event is not None and set(event) == {"id", "type", "source", "occurred_at", "subject", "data"}
    assert (event["type"], event["source"], event["subject"]) == ("contract.created", "entitlements", contract["id"])
    assert event["data"]["contract_id"] == contract["id"]

    headers = delivery.headers
    assert headers["webhook-id"] == event["id"]
    # the wall-clock second of this attempt (receivers allow ±5 min), not the injected clock's
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "support-platform/entitlements-webhooks"
    assert "authorization" not in headers, "a service token must never go to an external endpoint"
    assert delivery.body == json.dumps(event, separators=(",", ":")).encode()
    # the spec's signature, computed independently of the package: HMAC-SHA256 over id.timestamp.body
    key = base64.b64decode(hooks.secrets["crm"].removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + delivery.body
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()

    # the internal sink got the same event, with its service token, through its own outbox row
    [internal] = await receiver.wait_for("contract.created")
    assert internal == event
    rows = {(r.event_type, r.sink) for r in await outbox_rows(api)}
    assert rows == {("licence.registered", "consumer"), ("contract.created", "consumer"), ("contract.created", "crm")}


async def test_a_signature_checked_with_the_wrong_secret_or_over_other_bytes_fails(make_api, hooks, clock):
    """Negative controls: the receiver's check really depends on the secret, the id and the
    exact body bytes; and an app configured with a secret the receiver does not know fails."""
    api = await make_api(relay_enabled=False, webhooks={
        "crm": hooks.target("crm", events=["contract.created"]),
        "shop": hooks.target("shop", events=["contract.created"], secret=new_secret())})
    await buy(api.client("shop"), reference="tenant-neg")
    await api.app.state.runtime.relay.drain()

    [good] = hooks.of("crm")
    assert good.error is None and good.status == 204
    Webhook(hooks.secrets["crm"]).verify(good.body, good.headers)  # the positive control
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(new_secret()).verify(good.body, good.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(hooks.secrets["crm"]).verify(good.body, {**good.headers, "webhook-id": "evt_someone_else"})
    reserialised = json.dumps(json.loads(good.body)).encode()  # the same JSON, other bytes
    assert reserialised != good.body
    with pytest.raises(WebhookVerificationError):
        Webhook(hooks.secrets["crm"]).verify(reserialised, good.headers)
    tampered = good.body.replace(b'"type":"contract.created"', b'"type":"contract.cancelled"')
    assert tampered != good.body
    with pytest.raises(WebhookVerificationError):
        Webhook(hooks.secrets["crm"]).verify(tampered, good.headers)

    # the shop's endpoint has another secret than the app: it refuses, and the relay will retry
    [refused] = hooks.of("shop")
    assert refused.status == 400 and refused.error == "No matching signature found" and refused.payload is None
    row = await _row(api, "shop", "contract.created")
    assert row.attempts == 1 and row.delivered_at is None and "400" in (row.last_error or "")


# ---- retries ----------------------------------------------------------------------------------


async def test_a_webhook_answered_500_is_retried_with_backoff_under_the_same_id(make_api, hooks, clock):
    api = await make_api(relay_enabled=False, relay_backoff_base=1.0, relay_backoff_max=60.0,
                         webhooks={"crm": hooks.target("crm", events=["contract.created"])})
    runtime = api.app.state.runtime
    seconds = itertools.count(int(time.time()))
    runtime.webhooks.wall_clock = lambda: next(seconds)  # one wall-clock second per attempt
    relay = runtime.relay
    hooks.fail["crm"] = [500, 500]
    contract = (await buy(api.client("shop"), reference="tenant-retry")).json()

    await relay.drain()
    first = await _row(api, "crm", "contract.created")
    assert first.attempts == 1 and first.delivered_at is None and "500" in (first.last_error or "")
    assert timedelta(seconds=0.5) <= first.next_attempt_at - clock.now() <= timedelta(seconds=1)
    await relay.drain()
    assert len(hooks.of("crm")) == 1, "not retried before its backoff ends"

    clock.advance(timedelta(seconds=1))
    await relay.drain()
    second = await _row(api, "crm", "contract.created")
    assert second.attempts == 2 and second.delivered_at is None
    assert timedelta(seconds=1) <= second.next_attempt_at - clock.now() <= timedelta(seconds=2)

    clock.advance(timedelta(seconds=2))
    await relay.drain()
    assert (await _row(api, "crm", "contract.created")).delivered_at is not None
    clock.advance(timedelta(minutes=10))
    await relay.drain()

    attempts = hooks.of("crm")
    assert [d.status for d in attempts] == [500, 500, 204]
    assert all(d.error is None for d in attempts), "every attempt is signed and verifies"
    assert {d.headers["webhook-id"] for d in attempts} == {first.event_id}
    assert len({d.body for d in attempts}) == 1
    stamps = [int(d.headers["webhook-timestamp"]) for d in attempts]
    assert stamps == sorted(set(stamps)), "each attempt is signed with its own timestamp"
    assert len({d.headers["webhook-signature"] for d in attempts}) == 3
    assert attempts[-1].payload is not None and attempts[-1].payload["data"]["contract_id"] == contract["id"]


async def test_transport_errors_and_non_2xx_answers_fail_and_end_in_the_dead_letter(make_api, hooks, clock):
    dead_port = free_port()  # nothing listens there
    api = await make_api(relay_enabled=False, relay_max_attempts=2, webhooks={
        "gone": WebhookTarget(url=f"http://127.0.0.1:{dead_port}/hooks", secret=new_secret(),
                              events=["contract.created"]),
        "moved": hooks.target("moved", events=["contract.created"])})
    hooks.fail["moved"] = [307, 307]  # redirects are not followed: a signed body goes where it was sent
    await buy(api.client("shop"), reference="tenant-dead")
    relay = api.app.state.runtime.relay
    for attempt in (1, 2):
        await relay.drain()
        gone, moved = await _row(api, "gone", "contract.created"), await _row(api, "moved", "contract.created")
        assert gone.attempts == moved.attempts == attempt
        assert "ConnectError" in (gone.last_error or "") and "307" in (moved.last_error or "")
        clock.advance(timedelta(minutes=15))
    for row in (gone, moved):
        assert row.failed_at is not None and row.delivered_at is None
    assert await relay.drain() == 0
    assert [d.status for d in hooks.of("moved")] == [307, 307]


# ---- which events, which endpoints ------------------------------------------------------------


async def test_only_events_matching_a_webhooks_patterns_are_delivered_to_it(make_api, hooks):
    api = await make_api(relay_enabled=False, webhooks={
        "crm": hooks.target("crm", events=["contract.created", "contract.terminat*"]),
        "shop": hooks.target("shop", events=["licence.*"]),
        "quiet": hooks.target("quiet", events=["ticket.*"])})
    contract = (await buy(api.client("shop"), reference="tenant-match")).json()
    activated = await api.client("service").post(f"/v1/contracts/{contract['id']}/activate")
    assert activated.status_code == 200, activated.text
    await api.app.state.runtime.relay.drain()

    assert [d.type for d in hooks.of("crm")] == ["contract.created"]
    assert [d.type for d in hooks.of("shop")] == ["licence.registered"]
    assert hooks.of("quiet") == []
    assert all(d.error is None and d.status == 204 for d in hooks.deliveries)
    sinks: dict[str, set[str]] = {}
    for row in await outbox_rows(api):
        sinks.setdefault(row.event_type, set()).add(row.sink)
    assert sinks == {"licence.registered": {"consumer", "shop"}, "contract.created": {"consumer", "crm"},
                     "contract.activated": {"consumer"}}


async def test_a_webhook_and_an_internal_sink_get_the_same_event_independently(make_api, hooks, receiver, clock):
    api = await make_api(relay_enabled=False,
                         event_sinks={"consumer": EventSink(url=receiver.url, events=["contract.created"])},
                         webhooks={"crm": hooks.target("crm", events=["contract.created"])})
    shop, relay = api.client("shop"), api.app.state.runtime.relay

    hooks.fail["crm"] = [500]  # the webhook fails: the internal sink still gets the event
    first = (await buy(shop, reference="tenant-i1")).json()
    await relay.drain()
    assert [e["data"]["contract_id"] for e in receiver.of_type("contract.created")] == [first["id"]]
    assert (await _row(api, "crm", "contract.created")).attempts == 1

    receiver.fail_next = 1  # the internal sink fails: the webhook still gets the event
    second = (await buy(shop, reference="tenant-i2")).json()
    await relay.drain()
    assert [d.payload["data"]["contract_id"] for d in hooks.of("crm", ok=True)] == [second["id"]]  # type: ignore[index]
    assert (await _row(api, "consumer", "contract.created", nth=1)).attempts == 1

    clock.advance(timedelta(minutes=1))  # both backoffs are over
    await relay.drain()
    internal = receiver.of_type("contract.created")
    external = [d.payload for d in hooks.of("crm", ok=True)]
    assert [e["data"]["contract_id"] for e in internal] == [first["id"], second["id"]]
    assert [e["data"]["contract_id"] for e in external] == [second["id"], first["id"]]  # type: ignore[index]
    assert sorted(e["id"] for e in internal) == sorted(e["id"] for e in external)  # type: ignore[index]
    assert all(r.delivered_at is not None for r in await outbox_rows(api))


# ---- how the runtime is put together ----------------------------------------------------------


async def test_the_runtime_routes_rows_by_sink_name_and_closes_what_it_opened(settings, hooks):
    configured = settings.model_copy(update={"webhooks": {"crm": hooks.target("crm", events=["contract.*"])}})
    runtime = Runtime(configured)
    assert isinstance(runtime.deliverer, CompositeDeliverer)
    assert runtime.deliverer.for_sink("crm") is runtime.webhooks
    internal = runtime.deliverer.for_sink("consumer")
    assert isinstance(internal, HttpSinkDeliverer) and runtime.deliverer.for_sink("unknown") is internal
    assert runtime.resolve_sinks("contract.created") == ["consumer", "crm"]
    assert runtime.resolve_sinks("licence.registered") == ["consumer"]
    await runtime.stop()
    assert runtime.webhooks is not None and runtime.webhooks._client.is_closed
    assert internal._client.is_closed

    async def injected(sink: str, message: OutboxMessage) -> None:
        raise AssertionError("not called")

    overridden = Runtime(configured, deliverer=injected)
    assert overridden.deliverer is injected and overridden.relay.deliver is injected
    assert overridden.webhooks is None
    assert overridden.resolve_sinks("contract.created") == ["consumer", "crm"]
    await overridden.stop()


# ---- settings ---------------------------------------------------------------------------------


def _production(**overrides: Any) -> EntitlementsSettings:
    values: dict[str, Any] = dict(environment="production", database_url="postgresql+asyncpg://u@db:5432/e",
                                  jwks_url="https://idp.example/jwks.json", jwt_issuer="https://idp.example")
    return EntitlementsSettings(**{**values, **overrides})


def test_production_settings_refuse_an_http_webhook_url():
    secret = new_secret()
    with pytest.raises(ValidationError, match="webhook 'crm' url must be https"):
        _production(webhooks={"crm": {"url": "http://crm.example/hooks", "secret": secret}})
    accepted = _production(webhooks={"crm": {"url": "https://crm.example/hooks", "secret": secret}})
    assert accepted.webhooks["crm"].events == ["*"]
    # development accepts http (the local receiver in these tests)
    assert EntitlementsSettings(webhooks={"crm": {"url": "http://127.0.0.1/hooks", "secret": secret}}).webhooks


def test_production_settings_refuse_a_short_webhook_secret():
    with pytest.raises(ValidationError, match="webhook 'shop' secret must be at least 24 bytes"):
        _production(webhooks={"shop": {"url": "https://shop.example/hooks", "secret": new_secret(16)}})
    assert _production(webhooks={"shop": {"url": "https://shop.example/hooks", "secret": new_secret(24)}}).webhooks


def test_webhook_settings_refuse_clashing_names_bad_secrets_and_bad_urls():
    secret = new_secret()
    with pytest.raises(ValidationError, match="share one namespace"):
        EntitlementsSettings(event_sinks={"crm": {"url": "http://127.0.0.1/v1/events"}},
                             webhooks={"crm": {"url": "http://127.0.0.1/hooks", "secret": secret}})
    for bad in ("whsec_not base64!", "whsec_", ""):
        with pytest.raises(ValidationError, match="webhook secret"):
            WebhookTarget(url="https://crm.example/hooks", secret=bad)
    with pytest.raises(ValidationError, match="absolute http"):
        WebhookTarget(url="ftp://crm.example/hooks", secret=secret)
    assert secret not in repr(WebhookTarget(url="https://crm.example/hooks", secret=secret))


def test_webhooks_are_read_from_the_environment_as_json(monkeypatch):
    secret = new_secret()
    monkeypatch.setenv("ENTITLEMENTS_WEBHOOKS", json.dumps(
        {"crm": {"url": "https://crm.example/hooks", "secret": secret, "events": ["contract.*"]},
         "shop": {"url": "https://shop.example/hooks", "secret": secret}}))
    webhooks = EntitlementsSettings().webhooks
    assert webhooks == {"crm": WebhookTarget(url="https://crm.example/hooks", secret=secret, events=["contract.*"]),
                        "shop": WebhookTarget(url="https://shop.example/hooks", secret=secret, events=["*"])}
