"""Failing endpoints: retries with backoff under one webhook-id, the endpoint disabled once a
delivery has spent its budget, events held while it is disabled and sent when it is enabled
again, and replays. The retry schedule runs on the injected clock, moved by the tests."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from standardwebhooks.webhooks import Webhook

from tests.entitlements.helpers import buy
from tests.support.metrics import scrape, value
from tests.webhooks.conftest import (
    delivery_detail, delivery_where, deliveries, endpoint, instant, register, until,
)

BUDGET = dict(webhook_max_attempts=3, webhook_backoff_base=10.0, webhook_backoff_max=40.0)


async def test_a_failing_endpoint_is_retried_with_backoff_then_disabled_and_its_later_events_are_held_until_enabled(
        make_api, hooks, clock):
    api = await make_api(**BUDGET)
    shop, service = api.client("shop"), api.client("service")
    dispatcher = api.app.state.runtime.webhook_endpoints.dispatcher
    created = await register(shop, hooks.url("shop"), ["contract.*"])
    hooks.status["shop"] = 500

    contract = (await buy(shop, reference="tenant-fail")).json()
    first = await delivery_where(shop, created["id"], lambda d: d["attempts"] == 1, "the first attempt")
    assert (first["status"], first["last_status_code"]) == ("pending", 500)
    assert "receiver down" in first["last_error"]
    wait = instant(first["next_attempt_at"]) - clock.now()
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=10)  # base 10 s, full jitter in [0.5, 1]
    assert await dispatcher.drain() == 0, "nothing is attempted before its backoff has passed"
    assert (await endpoint(shop, created["id"]))["consecutive_failures"] == 1

    clock.advance(wait)
    second = await delivery_where(shop, created["id"], lambda d: d["attempts"] == 2, "the second attempt")
    wait = instant(second["next_attempt_at"]) - clock.now()
    assert timedelta(seconds=10) <= wait <= timedelta(seconds=20)  # doubled

    clock.advance(wait)
    failed = await delivery_where(shop, created["id"], lambda d: d["status"] == "failed", "the budget spent")
    assert (failed["attempts"], failed["next_attempt_at"], failed["delivered_at"]) == (3, None, None)
    attempts = hooks.of("shop", "contract.created")
    assert [r.status for r in attempts] == [500, 500, 500]
    assert {r.headers["webhook-id"] for r in attempts} == {failed["event_id"]}
    for r in attempts:  # every attempt is signed, each at its own timestamp
        Webhook(created["secret"]).verify(r.body, r.headers)
    detail = await delivery_detail(shop, created["id"], failed["id"])
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 500]

    disabled = await endpoint(shop, created["id"])
    assert disabled["status"] == "disabled" and disabled["consecutive_failures"] == 3
    assert failed["id"] in disabled["disabled_reason"] and "HTTP 500" in disabled["disabled_reason"]
    assert instant(disabled["disabled_at"]) == clock.now()
    samples = await scrape(api.client())  # what an operator is alerted by
    assert value(samples, "webhook_attempt_failures_total", service="entitlements") == 3
    assert value(samples, "webhook_deliveries_failed_total", service="entitlements") == 1
    assert value(samples, "webhook_endpoints_disabled_total", service="entitlements") == 1
    assert value(samples, "webhook_disabled_endpoints", service="entitlements") == 1

    # while disabled: the next event is kept, held, and not sent
    hooks.status["shop"] = 204
    activated = await service.post(f"/v1/contracts/{contract['id']}/activate")
    assert activated.status_code == 200, activated.text
    held = await delivery_where(shop, created["id"], lambda d: d["event_type"] == "contract.activated", "held")
    assert (held["status"], held["attempts"], held["next_attempt_at"]) == ("held", 0, None)
    assert await dispatcher.drain() == 0
    assert hooks.of("shop", "contract.activated") == []
    assert [d["id"] for d in await deliveries(shop, created["id"], status="held")] == [held["id"]]
    assert value(await scrape(api.client()), "webhook_held_deliveries", service="entitlements") == 1

    # enabled again: what was held goes out; the failed delivery stays failed (replay sends it)
    enabled = await shop.patch(f"/v1/webhook-endpoints/{created['id']}", json={"enabled": True})
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["status"] == "enabled"
    assert (enabled.json()["disabled_reason"], enabled.json()["disabled_at"]) == (None, None)
    assert enabled.json()["consecutive_failures"] == 0
    [sent] = await hooks.wait_for("shop", "contract.activated")
    assert Webhook(created["secret"]).verify(sent.body, sent.headers)["id"] == held["event_id"]
    await delivery_where(shop, created["id"], lambda d: d["id"] == held["id"] and d["status"] == "delivered",
                         "the held delivery delivered")
    assert [d["id"] for d in await deliveries(shop, created["id"], status="failed")] == [failed["id"]]
    assert len(hooks.of("shop", "contract.created")) == 3
    samples = await scrape(api.client())
    assert (value(samples, "webhook_disabled_endpoints"), value(samples, "webhook_held_deliveries")) == (0, 0)
    assert value(samples, "webhook_endpoints_disabled_total") == 1  # a counter: the alert saw it


async def test_replaying_a_failed_delivery_sends_it_again_under_the_same_webhook_id_keeping_its_attempt_log(
        make_api, hooks, clock):
    api = await make_api(webhook_max_attempts=1)
    shop = api.client("shop")
    created = await register(shop, hooks.url("shop"), ["contract.created"])
    hooks.status["shop"] = 503
    await buy(shop, reference="tenant-replay")
    failed = await delivery_where(shop, created["id"], lambda d: d["status"] == "failed", "the delivery failed")
    assert (await endpoint(shop, created["id"]))["status"] == "disabled"

    # on a disabled endpoint a replay is held, not sent
    replayed = await shop.post(f"/v1/webhook-endpoints/{created['id']}/deliveries/{failed['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["status"] == "held"

    hooks.status["shop"] = 200
    assert (await shop.patch(f"/v1/webhook-endpoints/{created['id']}", json={"enabled": True})).status_code == 200
    again = (await hooks.wait_for("shop", "contract.created", count=2))[1]
    assert again.headers["webhook-id"] == failed["event_id"]
    assert Webhook(created["secret"]).verify(again.body, again.headers)["id"] == failed["event_id"]
    delivered = await delivery_where(shop, created["id"], lambda d: d["status"] == "delivered", "delivered")
    detail = await delivery_detail(shop, created["id"], delivered["id"])
    assert [a["status_code"] for a in detail["attempt_log"]] == [503, 200]
    assert detail["attempts"] == 2

    # a delivered one is sent once more when replayed, still under its event's id
    replayed = await shop.post(f"/v1/webhook-endpoints/{created['id']}/deliveries/{delivered['id']}/replay")
    assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
    third = (await hooks.wait_for("shop", "contract.created", count=3))[2]
    assert third.headers["webhook-id"] == failed["event_id"] and third.body == again.body
    await until(lambda: _attempts(shop, created["id"], delivered["id"], 3), "the replay logged")


async def _attempts(client, endpoint_id, delivery_id, count):  # type: ignore[no-untyped-def]
    detail = await delivery_detail(client, endpoint_id, delivery_id)
    return detail if detail["status"] == "delivered" and len(detail["attempt_log"]) == count else None


async def test_disabling_an_endpoint_holds_its_events_and_says_so(make_api, hooks):
    api = await make_api()
    shop = api.client("shop")
    created = await register(shop, hooks.url("shop"), ["contract.created"])
    paused = await shop.patch(f"/v1/webhook-endpoints/{created['id']}", json={"enabled": False})
    assert paused.status_code == 200, paused.text
    assert (paused.json()["status"], paused.json()["disabled_reason"]) == ("disabled", "disabled through the API")

    await buy(shop, reference="tenant-paused")
    held = await delivery_where(shop, created["id"], lambda d: d["status"] == "held", "the event held")
    assert await api.app.state.runtime.webhook_endpoints.dispatcher.drain() == 0
    assert hooks.of("shop") == []

    assert (await shop.patch(f"/v1/webhook-endpoints/{created['id']}", json={"enabled": True})).status_code == 200
    [sent] = await hooks.wait_for("shop", "contract.created")
    assert sent.headers["webhook-id"] == held["event_id"]


async def test_when_a_delivery_runs_out_of_retries_the_endpoints_other_pending_deliveries_are_held(
        make_api, hooks):
    api = await make_api(relay_enabled=False, relay_batch_size=1, webhook_max_attempts=1)
    shop, runtime = api.client("shop"), api.app.state.runtime
    created = await register(shop, hooks.url("shop"), ["contract.created"])
    hooks.status["shop"] = 500
    for i in range(2):
        assert (await buy(shop, reference=f"tenant-h{i}")).status_code == 201
    await runtime.relay.drain()
    assert [d["status"] for d in await deliveries(shop, created["id"])] == ["pending", "pending"]

    assert await runtime.webhook_endpoints.dispatcher.drain() == 1  # the first fails, and the endpoint with it
    newest, oldest = await deliveries(shop, created["id"])
    assert (oldest["status"], newest["status"]) == ("failed", "held")
    assert len(hooks.of("shop")) == 1
    assert (await endpoint(shop, created["id"]))["status"] == "disabled"


# ---- several dispatchers on one table (PostgreSQL) -------------------------------------------------------


async def test_two_dispatchers_sending_one_table_deliver_every_delivery_once(postgres_only, make_api, hooks, clock):
    from shared.db import Database
    from shared.webhook_endpoints.dispatcher import Dispatcher
    from shared.webhook_endpoints.fanout import Routing

    api = await make_api(relay_enabled=False, relay_batch_size=3)
    shop, runtime = api.client("shop"), api.app.state.runtime
    created = await register(shop, hooks.url("shop"), ["contract.*", "licence.*"])
    for i in range(6):
        assert (await buy(shop, reference=f"tenant-d{i}")).status_code == 201
    await runtime.relay.drain()
    expected = {d["event_id"] for d in await deliveries(shop, created["id"], status="pending")}
    assert len(expected) == 12  # 6 × (licence.registered + contract.created)

    dbs = [Database(api.settings.database_url, pool_size=4) for _ in range(2)]
    dispatchers = [Dispatcher(db, clock, api.settings, Routing(api.settings)) for db in dbs]
    try:
        counts = await asyncio.gather(*(d.drain() for d in dispatchers))
    finally:
        for d, db in zip(dispatchers, dbs):
            await d.aclose()
            await db.dispose()
    ids = [r.headers["webhook-id"] for r in hooks.of("shop")]
    assert sorted(ids) == sorted(expected), "each delivery sent exactly once"
    assert all(counts), f"both dispatchers took part: {counts}"
    assert await deliveries(shop, created["id"], status="pending") == []
