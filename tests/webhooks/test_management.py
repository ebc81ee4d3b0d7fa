"""Managing webhook endpoints through the API: idempotent registration, ownership, validation
with stable error codes, scopes, listing, changing, rotating the secret and deleting."""

from __future__ import annotations

import uuid

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.infra_models import OutboxMessage
from tests.entitlements.helpers import buy
from tests.foundation.conftest import outbox_rows
from tests.webhooks.conftest import delivery_where, deliveries, endpoint, register

URL = "https://crm.example.com/hooks/support"


async def _create(client, body, key=None):  # type: ignore[no-untyped-def]
    return await client.post("/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())})


# ---- registering ------------------------------------------------------------------------------------


async def test_registering_twice_under_one_idempotency_key_gives_the_same_endpoint_and_secret(make_api):
    api = await make_api()
    crm = api.client("crm")
    body = {"url": URL, "events": ["contract.*", "licence.registered"], "description": "CRM"}

    first = await _create(crm, body, key="wh-key-1")
    again = await _create(crm, body, key="wh-key-1")
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"

    reused = await _create(crm, {**body, "url": URL + "/other"}, key="wh-key-1")
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"

    listed = (await crm.get("/v1/webhook-endpoints")).json()
    assert [e["id"] for e in listed["items"]] == [first.json()["id"]]

    other = await _create(crm, body, key="wh-key-2")  # a new key is a new endpoint with its own secret
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert other.json()["secret"] != first.json()["secret"]


async def test_the_secret_is_shown_only_on_create_and_rotate_and_rotation_signs_later_deliveries(make_api, hooks):
    api = await make_api()
    shop = api.client("shop")
    created = await register(shop, hooks.url("shop"), ["contract.created"])
    assert "secret" not in await endpoint(shop, created["id"])
    assert all("secret" not in e for e in (await shop.get("/v1/webhook-endpoints")).json()["items"])

    rotated = await shop.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["secret"]

    await buy(shop, reference="tenant-rotated")
    [received] = await hooks.wait_for("shop", "contract.created")
    Webhook(new_secret).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(received.body, received.headers)


# ---- who sees what ------------------------------------------------------------------------------------


async def test_another_callers_endpoint_is_404_everywhere_and_an_admin_sees_every_endpoint(make_api):
    api = await make_api()
    crm, shop, admin = api.client("crm"), api.client("shop"), api.client("admin")
    mine = await register(crm, URL, ["contract.*"])
    theirs = await register(shop, URL, ["licence.*"])
    base = f"/v1/webhook-endpoints/{mine['id']}"

    for response in (await shop.get(base), await shop.patch(base, json={"description": "x"}),
                     await shop.delete(base), await shop.post(f"{base}/rotate-secret"),
                     await shop.get(f"{base}/deliveries"), await shop.get(f"{base}/deliveries/whd_x"),
                     await shop.post(f"{base}/deliveries/whd_x/replay")):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "webhook_endpoint_not_found"
    assert [e["id"] for e in (await shop.get("/v1/webhook-endpoints")).json()["items"]] == [theirs["id"]]
    assert (await endpoint(crm, mine["id"]))["description"] is None  # untouched

    assert (await admin.get(base)).status_code == 200
    everyone = (await admin.get("/v1/webhook-endpoints")).json()["items"]
    assert {e["id"] for e in everyone} == {mine["id"], theirs["id"]}
    missing = await crm.get(f"{base}/deliveries/whd_nothing")
    assert missing.status_code == 404 and missing.json()["error"] == "webhook_delivery_not_found"


async def test_callers_without_the_webhooks_scope_are_refused(make_api):
    api = await make_api()
    for role, customer in (("agent", None), ("customer", "cust-1"), ("service", None)):
        client = api.client(role, customer_id=customer)
        for response in (await _create(client, {"url": URL, "events": ["ticket.*"]}),
                         await client.get("/v1/webhook-endpoints")):
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"] == "forbidden"
    anonymous = await api.client().get("/v1/webhook-endpoints")
    assert anonymous.status_code == 401
    assert (await api.client("admin").get("/v1/webhook-endpoints")).json()["items"] == []


# ---- validation ------------------------------------------------------------------------------------------


BAD_URLS = ["ftp://crm.example.com/hooks", "crm.example.com/hooks", "https://", "https:///x",
            "https://user:pw@crm.example.com/hooks", "https://crm.example.com/a b",
            "https://crm.example.com:99999/hooks", "https://crm.example.com/" + "x" * 2000]
BAD_PATTERNS = [[], ["Ticket.*"], ["ticket created"], ["ticket.[ab]"], ["ticket.?"], [""], ["invoice.2026"],
                ["x" * 101], ["a"] * 51]


async def test_a_url_that_is_not_an_absolute_http_url_is_refused_with_invalid_webhook_url(make_api):
    api = await make_api(catalogue=False)
    crm = api.client("crm")
    for url in BAD_URLS:
        response = await _create(crm, {"url": url, "events": ["ticket.*"]})
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"] == "invalid_webhook_url", url
        assert response.json()["fields"][0]["field"] == "body.url"
    assert (await _create(crm, {"url": "https://crm.example.com:8443/a?b=c", "events": ["ticket.*"]})
            ).status_code == 201


async def test_event_patterns_outside_lower_case_dots_underscores_and_stars_are_refused(make_api):
    api = await make_api(catalogue=False)
    crm = api.client("crm")
    for events in BAD_PATTERNS:
        response = await _create(crm, {"url": URL, "events": events})
        assert response.status_code == 422, (events, response.text)
        assert response.json()["error"] == "invalid_event_pattern", events
    not_a_list = await _create(crm, {"url": URL, "events": "ticket.*"})
    assert not_a_list.status_code == 422 and not_a_list.json()["error"] == "validation_error"
    fine = await _create(crm, {"url": URL, "events": ["*", "remote_session.*", "invoice.paid"]})
    assert fine.status_code == 201, fine.text


async def test_production_refuses_plain_http_and_private_addresses_but_development_accepts_them(make_api):
    production = await make_api(catalogue=False, environment="production")
    crm = production.client("crm")
    for url, code in (("http://crm.example.com/hooks", "webhook_url_not_https"),
                      ("https://127.0.0.1/hooks", "webhook_url_not_public"),
                      ("https://10.1.2.3/hooks", "webhook_url_not_public"),
                      ("https://[::1]/hooks", "webhook_url_not_public"),
                      ("https://localhost:8443/hooks", "webhook_url_not_public")):
        response = await _create(crm, {"url": url, "events": ["contract.*"]})
        assert response.status_code == 422 and response.json()["error"] == code, (url, response.text)
    created = await register(crm, URL, ["contract.*"])
    downgraded = await crm.patch(f"/v1/webhook-endpoints/{created['id']}", json={"url": "http://crm.example.com/h"})
    assert downgraded.status_code == 422 and downgraded.json()["error"] == "webhook_url_not_https"

    development = await make_api(catalogue=False, environment="development")
    assert (await _create(development.client("crm"), {"url": "http://127.0.0.1:9/hooks",
                                                        "events": ["contract.*"]})).status_code == 201


async def test_unknown_fields_and_nulls_for_required_fields_are_refused(make_api):
    api = await make_api(catalogue=False)
    crm = api.client("crm")
    unknown = await _create(crm, {"url": URL, "events": ["ticket.*"], "secret": "whsec_mine"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_field"
    created = await register(crm, URL, ["ticket.*"])
    for body in ({"url": None}, {"events": None}, {"enabled": None}, {"events": []}):
        response = await crm.patch(f"/v1/webhook-endpoints/{created['id']}", json=body)
        assert response.status_code == 422, (body, response.text)


# ---- listing, changing, deleting -------------------------------------------------------------------------


async def test_endpoints_are_listed_in_creation_order_page_by_page(make_api):
    api = await make_api(catalogue=False)
    crm = api.client("crm")
    ids = [(await register(crm, f"{URL}/{n}", ["ticket.*"]))["id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        page = (await crm.get("/v1/webhook-endpoints", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
                              )).json()
        seen.append([e["id"] for e in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[0:2], ids[2:4], ids[4:5]]


async def test_changing_the_events_of_an_endpoint_changes_what_it_gets(make_api, hooks):
    api = await make_api()
    shop, service = api.client("shop"), api.client("service")
    created = await register(shop, hooks.url("shop"), ["licence.*"], description="first")
    changed = await shop.patch(f"/v1/webhook-endpoints/{created['id']}",
                               json={"events": ["contract.activated", "contract.activated"], "description": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["events"], changed.json()["description"]) == (["contract.activated"], None)

    contract = (await buy(shop, reference="tenant-changed")).json()
    assert (await service.post(f"/v1/contracts/{contract['id']}/activate")).status_code == 200
    [received] = await hooks.wait_for("shop", "contract.activated")
    await delivery_where(shop, created["id"], lambda d: d["status"] == "delivered", "delivered")
    assert [d["event_type"] for d in await deliveries(shop, created["id"])] == ["contract.activated"]
    assert [r.event["type"] for r in hooks.received] == ["contract.activated"]


async def test_deleting_an_endpoint_removes_it_and_its_deliveries_log(make_api, hooks):
    api = await make_api()
    shop = api.client("shop")
    created = await register(shop, hooks.url("shop"), ["contract.created"])
    await buy(shop, reference="tenant-deleted")
    await delivery_where(shop, created["id"], lambda d: d["status"] == "delivered", "delivered")

    deleted = await shop.delete(f"/v1/webhook-endpoints/{created['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await shop.get(f"/v1/webhook-endpoints/{created['id']}")).status_code == 404
    assert (await shop.get(f"/v1/webhook-endpoints/{created['id']}/deliveries")).status_code == 404
    assert (await shop.get("/v1/webhook-endpoints")).json()["items"] == []
    assert (await shop.delete(f"/v1/webhook-endpoints/{created['id']}")).status_code == 404


# ---- the fan-out row --------------------------------------------------------------------------------------


async def test_public_events_get_a_fan_out_outbox_row_only_once_the_service_has_an_endpoint(make_api):
    api = await make_api(relay_enabled=False)
    shop = api.client("shop")
    runtime = api.app.state.runtime

    await buy(shop, reference="tenant-before")
    assert {r.sink for r in await outbox_rows(api)} == {"consumer"}, "no endpoint: nothing more is written"
    assert runtime.resolve_sinks("contract.created") == ["consumer"]

    created = await register(shop, URL, ["contract.created"])
    assert runtime.resolve_sinks("contract.created") == ["consumer", "webhooks"]
    assert runtime.resolve_sinks("outage.declared") == ["consumer"], "not a public event"
    await buy(shop, reference="tenant-after")
    fanned = [r for r in await outbox_rows(api) if r.sink == "webhooks"]
    assert sorted(r.event_type for r in fanned) == ["contract.created", "licence.registered"]

    await runtime.relay.drain()  # the fan-out: deliveries for the matching endpoint only
    [pending] = await deliveries(shop, created["id"])
    created_event = next(r for r in fanned if r.event_type == "contract.created")
    assert (pending["event_id"], pending["status"]) == (created_event.event_id, "pending")
    await _refan(runtime, created_event)
    assert len(await deliveries(shop, created["id"])) == 1, "a repeated fan-out adds nothing"


async def _refan(runtime, row: OutboxMessage) -> None:  # type: ignore[no-untyped-def]
    await runtime.webhook_endpoints.fanout("webhooks", row)


async def test_a_runtime_that_was_never_started_asks_the_database_whether_to_fan_out(make_api, settings):
    from shared.runtime import Runtime

    api = await make_api(relay_enabled=False)
    fresh = Runtime(settings)  # as a command-line tool builds it: never started
    try:
        assert fresh.resolve_sinks("contract.created") == ["consumer"]
    finally:
        await fresh.stop()
    await register(api.client("shop"), URL, ["contract.*"])
    later = Runtime(settings)
    try:
        assert later.resolve_sinks("contract.created") == ["consumer", "webhooks"]
        assert later.resolve_sinks("mail.auto_reply") == ["consumer"]
    finally:
        await later.stop()
