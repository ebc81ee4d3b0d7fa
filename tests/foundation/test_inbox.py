"""The inbox: `POST /v1/events` applies each event at most once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.entitlements.helpers import buy


def _event(event_type: str, data: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:20]}", "type": event_type, "source": "billing",
            "occurred_at": "2026-11-21T09:30:00+00:00", "subject": data.get("contract_id"), "data": data}


async def _activations(shop, contract_id: str) -> list[dict[str, Any]]:
    history = (await shop.get(f"/v1/contracts/{contract_id}/history")).json()
    return [h for h in history if h["action"] == "activate"]


async def test_contract_paid_activates_and_a_repeat_is_a_duplicate_that_changes_nothing(shop, service, receiver):
    contract = (await buy(shop)).json()
    assert contract["status"] == "pending_payment"
    event = _event("contract.paid", {"contract_id": contract["id"]})

    first = await service.post("/v1/events", json=event)
    assert first.status_code == 200, first.text
    assert first.json() == {"event_id": event["id"], "outcome": "applied"}
    after_first = (await shop.get(f"/v1/contracts/{contract['id']}")).json()
    assert after_first["status"] == "active"
    activations = await _activations(shop, contract["id"])
    assert len(activations) == 1 and activations[0]["actor"] == f"event:billing:{event['id']}"
    await receiver.wait_for("contract.activated")

    again = await service.post("/v1/events", json=event)
    assert again.status_code == 200
    assert again.json() == {"event_id": event["id"], "outcome": "duplicate"}
    assert (await shop.get(f"/v1/contracts/{contract['id']}")).json() == after_first
    assert len(await _activations(shop, contract["id"])) == 1
    # a later event proves the relay has moved on; the duplicate emitted no second activation
    await buy(shop, reference="tenant-barrier")
    await receiver.wait_for("contract.created", count=2)
    assert len(receiver.of_type("contract.activated")) == 1


async def test_unknown_event_type_is_acknowledged_and_ignored(shop, service):
    contract = (await buy(shop)).json()
    event = _event("contract.something_new", {"contract_id": contract["id"]})
    response = await service.post("/v1/events", json=event)
    assert response.status_code == 200
    assert response.json() == {"event_id": event["id"], "outcome": "ignored"}
    assert (await service.post("/v1/events", json=event)).json()["outcome"] == "duplicate"
    assert (await shop.get(f"/v1/contracts/{contract['id']}")).json()["status"] == "pending_payment"


async def test_a_failing_handler_records_nothing_so_the_sender_can_retry(shop, service):
    event = _event("contract.paid", {"contract_id": "ctr_does_not_exist"})
    refused = await service.post("/v1/events", json=event)
    assert refused.status_code == 404 and refused.json()["error"] == "contract_not_found"
    assert (await service.post("/v1/events", json=event)).status_code == 404, "not recorded as applied"


async def test_only_service_tokens_may_publish_events(api, shop):
    contract = (await buy(shop)).json()
    event = _event("contract.paid", {"contract_id": contract["id"]})
    for role in ("shop", "admin", "crm"):
        response = await api.client(role).post("/v1/events", json=event)
        assert response.status_code == 403, role
        assert response.json()["error"] == "forbidden"
    assert (await api.client().post("/v1/events", json=event)).status_code == 401
    assert (await shop.get(f"/v1/contracts/{contract['id']}")).json()["status"] == "pending_payment"


async def test_malformed_envelope_is_422(service):
    response = await service.post("/v1/events", json={"id": "evt_1", "type": "contract.paid"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


async def test_concurrent_deliveries_of_one_event_apply_it_once(postgres_only, shop, service):
    contract = (await buy(shop)).json()
    event = _event("contract.paid", {"contract_id": contract["id"]})
    responses = await asyncio.gather(*(service.post("/v1/events", json=event) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["applied"] + ["duplicate"] * 9
    assert (await shop.get(f"/v1/contracts/{contract['id']}")).json()["status"] == "active"
    assert len(await _activations(shop, contract["id"])) == 1
