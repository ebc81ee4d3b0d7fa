"""The transactional outbox and its relay: nothing leaves before commit, retries with backoff,
dead-lettering, delivery headers, per-sink order, and several relays on one outbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Awaitable, Callable

import httpx
from fastapi import APIRouter, FastAPI

from shared.db import Database
from shared.errors import Conflict
from shared.infra_models import OutboxMessage
from shared.outbox import NO_SINK, OutboxRelay, RelayPolicy
from shared.settings import EventSink
from shared.web.uow import UoW
from tests.entitlements.helpers import buy, purchase_body
from tests.foundation.conftest import outbox_rows
from tests.support.waiting import until as wait_until


def _add_probe_routes(app: FastAPI) -> None:
    """A test-only route that emits an event and then succeeds, fails with a domain error, or
    fails with an unexpected exception."""
    router = APIRouter()

    @router.post("/test-only/emit")
    async def emit(uow: UoW, tag: str, then: str = "ok") -> dict[str, str]:
        uow.events.emit("test.probe", {"tag": tag})
        await uow.session.flush()
        if then == "conflict":
            raise Conflict("refused after emitting")
        if then == "crash":
            raise RuntimeError("crashed after emitting")
        return {"tag": tag}

    app.include_router(router)


async def _register_licence(shop: httpx.AsyncClient, reference: str) -> None:
    response = await shop.post("/v1/customers/cust-1/licences", json={"product": "office365", "reference": reference})
    assert response.status_code == 201, response.text


# ---- nothing leaves before commit ----------------------------------------------------------


async def test_a_request_refused_with_a_domain_error_emits_nothing(api, shop, receiver):
    refused = await buy(shop, mode="standalone", reference="never-sold")
    assert refused.json()["error"] == "licence_not_found"
    accepted = await buy(shop, reference="tenant-ok")
    assert accepted.status_code == 201
    # the later event has arrived, so anything the refused request had emitted would have too
    await receiver.wait_for("contract.created")
    assert [e["data"]["contract_id"] for e in receiver.of_type("contract.created")] == [accepted.json()["id"]]
    assert [e["data"]["reference"] for e in receiver.of_type("licence.registered")] == ["tenant-ok"]


async def test_events_emitted_before_a_failure_in_the_same_request_are_discarded(make_api, receiver):
    api = await make_api(catalogue=False, customize=_add_probe_routes)
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://entitlements") as client:
        assert (await client.post("/test-only/emit", params={"tag": "conflict", "then": "conflict"})).status_code == 409
        assert (await client.post("/test-only/emit", params={"tag": "crash", "then": "crash"})).status_code == 500
        assert (await client.post("/test-only/emit", params={"tag": "committed"})).status_code == 200
    await receiver.wait_for("test.probe")
    assert [e["data"]["tag"] for e in receiver.of_type("test.probe")] == ["committed"]
    assert [row.payload["data"]["tag"] for row in await outbox_rows(api)] == ["committed"]


# ---- retries, backoff, dead letters ----------------------------------------------------------


async def test_delivery_retries_with_backoff_on_503_then_arrives_exactly_once(make_api, receiver, clock):
    api = await make_api(relay_enabled=False, relay_backoff_base=1.0, relay_backoff_max=60.0)
    relay = api.app.state.runtime.relay
    shop = api.client("shop")
    await _register_licence(shop, "tenant-r")
    assert await relay.drain() == 1  # licence.registered
    receiver.fail_next = 2
    contract = (await buy(shop, mode="standalone", reference="tenant-r")).json()

    async def row() -> OutboxMessage:
        return next(r for r in await outbox_rows(api) if r.event_type == "contract.created")

    assert await relay.drain() == 0
    first = await row()
    assert first.attempts == 1 and first.delivered_at is None and "503" in (first.last_error or "")
    delay1 = first.next_attempt_at - clock.now()
    assert timedelta(seconds=0.5) <= delay1 <= timedelta(seconds=1)  # base·2⁰ with jitter in [0.5, 1]
    assert await relay.drain() == 0 and (await row()).attempts == 1, "not retried before its backoff ends"

    clock.advance(timedelta(seconds=1))
    assert await relay.drain() == 0
    second = await row()
    assert second.attempts == 2
    delay2 = second.next_attempt_at - clock.now()
    assert timedelta(seconds=1) <= delay2 <= timedelta(seconds=2)  # base·2¹ with jitter

    clock.advance(timedelta(seconds=2))
    assert await relay.drain() == 1
    assert (await row()).delivered_at is not None
    clock.advance(timedelta(minutes=10))
    assert await relay.drain() == 0
    assert [e["data"]["contract_id"] for e in receiver.of_type("contract.created")] == [contract["id"]]


async def test_the_running_relay_retries_after_503(api, shop, receiver, clock):
    await _register_licence(shop, "tenant-live")
    await receiver.wait_for("licence.registered")
    receiver.fail_next = 2
    contract = (await buy(shop, mode="standalone", reference="tenant-live")).json()

    async def attempts() -> int:
        return next(r.attempts for r in await outbox_rows(api) if r.event_type == "contract.created")

    for failures in (1, 2):
        await wait_until(lambda: _at_least(attempts, failures), what=f"{failures} failed attempt(s)")
        clock.advance(timedelta(seconds=1))  # past the backoff (at most 0.05 s in these settings)
        api.app.state.runtime.relay.wake()
    created = await receiver.wait_for("contract.created")
    assert [e["data"]["contract_id"] for e in created] == [contract["id"]]
    assert await attempts() == 2


async def _at_least(value: Callable[[], Awaitable[int]], n: int) -> bool:
    return await value() >= n


async def test_a_message_that_keeps_failing_is_dead_lettered_after_max_attempts(make_api, receiver, clock):
    sinks = {"consumer": EventSink(url=receiver.url, events=["*"]),
             "broken": EventSink(url=receiver.url.replace("/v1/events", "/gone"), events=["contract.created"])}
    api = await make_api(relay_enabled=False, relay_max_attempts=3, event_sinks=sinks)
    relay = api.app.state.runtime.relay
    contract = (await buy(api.client("shop"), reference="tenant-dead")).json()

    async def broken_row() -> OutboxMessage:
        return next(r for r in await outbox_rows(api) if r.sink == "broken")

    for attempt in (1, 2, 3):
        await relay.drain()
        row = await broken_row()
        assert row.attempts == attempt and "404" in (row.last_error or "")
        assert (row.failed_at is not None) == (attempt == 3), attempt
        clock.advance(timedelta(minutes=15))
    assert await relay.drain() == 0
    dead = await broken_row()
    assert dead.attempts == 3 and dead.failed_at is not None and dead.delivered_at is None
    # the healthy sink got everything, once; the dead letter did not hold it up
    assert [e["data"]["contract_id"] for e in receiver.of_type("contract.created")] == [contract["id"]]
    assert len(receiver.of_type("licence.registered")) == 1
    metrics = (await api.client().get("/metrics")).text
    assert 'outbox_pending_messages{service="entitlements"} 0.0' in metrics


# ---- what a delivery carries -----------------------------------------------------------------


async def test_each_delivery_carries_event_id_service_token_and_request_id(api, shop, receiver):
    response = await shop.post("/v1/purchases", json=purchase_body(reference="tenant-h"),
                               headers={"Idempotency-Key": "k-h", "X-Request-ID": "rid-outbox-1"})
    assert response.status_code == 201
    await receiver.wait_for("contract.created")
    assert len(receiver.events) == 2  # licence.registered, contract.created
    for event, headers in zip(receiver.events, receiver.headers):
        assert headers["webhook-id"] == event["id"]
        assert headers["idempotency-key"] == event["id"]
        assert headers["x-request-id"] == "rid-outbox-1"
        scheme, _, token = headers["authorization"].partition(" ")
        assert scheme == "Bearer"
        principal = await api.app.state.authenticator.authenticate(token)
        assert principal.sub == "svc:entitlements" and principal.has("events:publish")
        assert event["source"] == "entitlements"
    assert receiver.of_type("contract.created")[0]["subject"] == response.json()["id"]


# ---- order -----------------------------------------------------------------------------------


async def test_per_sink_order_is_creation_order(api, shop, receiver):
    ids = []
    for i in range(5):
        response = await buy(shop, reference=f"tenant-o{i}")
        ids.append(response.json()["id"])
    await receiver.wait_for("contract.created", count=5)
    assert [e["data"]["contract_id"] for e in receiver.of_type("contract.created")] == ids
    kinds = [(e["type"], e["data"].get("reference") or e["data"]["licence"]["reference"]) for e in receiver.events]
    expected = [(kind, f"tenant-o{i}") for i in range(5) for kind in ("licence.registered", "contract.created")]
    assert kinds == expected


async def test_a_failing_event_does_not_block_later_ones_of_its_sink(make_api, receiver, clock):
    """Delivery is at least once and ordered only while deliveries succeed: a message backing off
    does not hold back the rest of its sink (no head-of-line blocking; consumers are
    order-tolerant). It arrives once its backoff is over."""
    api = await make_api(relay_enabled=False)
    relay = api.app.state.runtime.relay
    receiver.fail_next = 1
    await buy(api.client("shop"), reference="tenant-first")  # licence.registered, then contract.created
    await relay.drain()  # licence.registered fails and backs off; the rest of that batch waits
    await relay.drain()  # the next round delivers contract.created meanwhile
    assert [e["type"] for e in receiver.events] == ["contract.created"]
    clock.advance(timedelta(seconds=1))
    await relay.drain()
    assert sorted(e["type"] for e in receiver.events) == ["contract.created", "licence.registered"]


# ---- stopping -------------------------------------------------------------------------------


class _IdleRelay(OutboxRelay):
    async def run_once(self) -> int:
        return 0


async def test_the_relay_stops_even_when_cancelled_as_it_is_woken(clock):
    """`stop()` during a wake-up (a commit just before shutdown) must not be lost: the relay's
    wait must not swallow the cancellation (asyncio.wait_for does on Python 3.11)."""
    lost = []
    for ticks in range(6):  # cancel 0..5 loop iterations after the wake-up
        relay = _IdleRelay(None, clock, None, RelayPolicy(poll_interval=30))  # type: ignore[arg-type]
        relay.start()
        await asyncio.sleep(0.01)  # now waiting for a wake-up
        relay.wake()
        for _ in range(ticks):
            await asyncio.sleep(0)
        task = relay.loop.task
        assert task is not None
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            lost.append(ticks)
            task.cancel()
            await asyncio.wait({task})
    assert lost == [], f"cancellation lost when it came {lost} loop iterations after the wake-up"


# ---- several relays on one outbox (PostgreSQL) ----------------------------------------------------


async def test_two_relays_draining_one_outbox_deliver_every_message_once(postgres_only, make_api, receiver, clock):
    sinks = {"billing": EventSink(url=receiver.url, events=["*"]), "tickets": EventSink(url=receiver.url, events=["*"])}
    api = await make_api(relay_enabled=False, event_sinks=sinks)
    shop = api.client("shop")
    for i in range(8):
        assert (await buy(shop, reference=f"tenant-c{i}")).status_code == 201
    expected = {(r.event_id, r.sink) for r in await outbox_rows(api) if r.sink != NO_SINK}
    assert len(expected) == 32  # 8 × (licence.registered + contract.created) × 2 sinks

    delivered: list[tuple[str, str, int]] = []

    def deliverer(relay_no: int) -> Callable[[str, OutboxMessage], Awaitable[None]]:
        async def deliver(sink: str, message: OutboxMessage) -> None:
            delivered.append((message.event_id, sink, relay_no))
            await asyncio.sleep(0.01)
        return deliver

    policy = RelayPolicy(batch_size=4, lease_seconds=30)
    dbs = [Database(api.settings.database_url, pool_size=4) for _ in range(2)]
    try:
        relays = [OutboxRelay(db, clock, deliverer(n), policy) for n, db in enumerate(dbs)]
        await asyncio.gather(relays[0].drain(), relays[1].drain())
    finally:
        for db in dbs:
            await db.dispose()

    counts = Counter((event_id, sink) for event_id, sink, _ in delivered)
    assert set(counts) == expected
    assert [k for k, n in counts.items() if n != 1] == []
    assert {relay_no for _, _, relay_no in delivered} == {0, 1}, "both relays took part"
    assert all(r.delivered_at is not None for r in await outbox_rows(api))
