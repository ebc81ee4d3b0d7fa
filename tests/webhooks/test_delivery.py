"""An endpoint registered through a service's API gets that service's events, caused through its
API, as Standard Webhooks signed with the endpoint's own secret; the deliveries log shows them."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.entitlements.helpers import buy
from tests.webhooks.conftest import delivery_detail, delivery_where, deliveries, register


def _other_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


async def test_a_ticket_filed_through_tickets_reaches_an_endpoint_registered_there_signed_with_its_secret(
        world, hooks):
    crm = world.tickets("crm")
    created = await register(crm, hooks.url("crm"), ["ticket.*"], description="CRM ticket feed")
    assert created["id"].startswith("whe_") and created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 24
    assert (created["status"], created["consecutive_failures"]) == ("enabled", 0)
    assert created["description"] == "CRM ticket feed"
    await world.contract("cust-1")

    filed = await world.file(crm)
    assert filed.status_code == 201, filed.text
    [received] = await hooks.wait_for("crm", "ticket.created")

    event = Webhook(created["secret"]).verify(received.body, received.headers)
    assert (event["type"], event["source"], event["subject"]) == ("ticket.created", "tickets", filed.json()["id"])
    assert received.headers["webhook-id"] == event["id"]
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 60  # the wall clock, not the test's
    assert received.body == json.dumps(event, separators=(",", ":")).encode()
    assert "authorization" not in received.headers
    with pytest.raises(WebhookVerificationError):  # the check depends on the secret
        Webhook(_other_secret()).verify(received.body, received.headers)

    delivered = await delivery_where(crm, created["id"], lambda d: d["status"] == "delivered", "the delivery logged")
    assert (delivered["event_id"], delivered["event_type"], delivered["attempts"]) == (event["id"], "ticket.created", 1)
    assert delivered["last_status_code"] == 204 and delivered["delivered_at"] is not None
    detail = await delivery_detail(crm, created["id"], delivered["id"])
    assert detail["payload"] == event
    [attempt] = detail["attempt_log"]
    assert attempt["status_code"] == 204 and attempt["error"] is None and attempt["duration_ms"] >= 0


async def test_a_purchase_on_entitlements_reaches_an_endpoint_for_contract_events_and_nothing_else(
        make_api, hooks):
    api = await make_api()
    shop = api.client("shop")
    created = await register(shop, hooks.url("shop"), ["contract.*"])

    contract = (await buy(shop, reference="tenant-wh1")).json()
    [received] = await hooks.wait_for("shop", "contract.created")
    event = Webhook(created["secret"]).verify(received.body, received.headers)
    assert (event["source"], event["data"]["contract_id"]) == ("entitlements", contract["id"])

    await delivery_where(shop, created["id"], lambda d: d["status"] == "delivered", "the delivery logged")
    # licence.registered was emitted in the same transaction, before it: not for this endpoint
    assert [(d["event_type"], d["event_id"]) for d in await deliveries(shop, created["id"])] == [
        ("contract.created", event["id"])]
    assert [r.event["type"] for r in hooks.of("shop")] == ["contract.created"]


async def test_an_invoice_issued_by_billing_reaches_an_endpoint_registered_with_billing(bw, hooks):
    crm = bw.billing("crm", sub="crm-billing")
    created = await register(crm, hooks.url("finance"), ["invoice.issued"])

    contract = await bw.buy()
    [received] = await hooks.wait_for("finance", "invoice.issued")
    event = Webhook(created["secret"]).verify(received.body, received.headers)
    assert event["source"] == "billing" and event["data"]["contract_id"] == contract["id"]
    logged = await delivery_where(crm, created["id"], lambda d: d["status"] == "delivered", "the delivery logged")
    assert logged["event_id"] == event["id"]
