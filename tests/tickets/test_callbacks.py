"""Callbacks (R-S2): three attempts, two to the calling number and one to the order's number;
every failed attempt is recorded and told to the order's e-mail; plans without `callback` are
refused."""

from __future__ import annotations

import uuid

from tests.tickets.conftest import at

CALLING, ORDER, EMAIL = "+48 600 100 200", "+48 22 555 01 02", "zamowienia@firma.pl"


def callback_body(customer_id: str = "sage-1", product: str = "sage-warranty", **overrides):
    body = {"customer_id": customer_id, "product": product, "calling_number": CALLING, "order_number": ORDER,
            "contact_email": EMAIL}
    body.update(overrides)
    return body


async def request_callback(world, client=None, key: str | None = None, **overrides):
    client = client or world.tickets("crm")
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post("/v1/callbacks", json=callback_body(**overrides), headers=headers)


async def test_three_attempts_two_to_the_calling_number_one_to_the_order_number_R_S2(world):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract(customer_id="sage-1", plan_id="sage-warranty-prestige")
    customer = world.tickets("customer", customer_id="sage-1")
    created = await request_callback(world, customer)
    assert created.status_code == 201, created.text
    callback = created.json()
    assert callback["status"] == "scheduled" and callback["plan_id"] == "sage-warranty-prestige"
    assert [(a["attempt"], a["number"], a["target"]) for a in callback["attempts"]] == [
        (1, CALLING, "calling_number"), (2, CALLING, "calling_number"), (3, ORDER, "order_number")]
    assert callback["next_attempt"]["attempt"] == 1 and callback["attempts_left"] == 3
    await world.receiver.wait_for("callback.requested")

    agent = world.tickets("agent", sub="agent-ola")
    for n, outcome in enumerate(("no_answer", "busy", "failed"), 1):
        world.clock.set(at(f"2026-11-23 1{n}:00"))
        answer = await agent.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": outcome,
                                                                                    "note": f"try {n}"})
        assert answer.status_code == 201, answer.text
    done = answer.json()
    assert done["status"] == "exhausted" and done["next_attempt"] is None and done["attempts_left"] == 0
    assert [(a["number"], a["outcome"], a["agent"]) for a in done["attempts"]] == [
        (CALLING, "no_answer", "agent-ola"), (CALLING, "busy", "agent-ola"), (ORDER, "failed", "agent-ola")]

    fourth = await agent.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "reached"})
    assert (fourth.status_code, fourth.json()["error"]) == (409, "callback_attempts_exhausted")

    failed = [e["data"] for e in await world.receiver.wait_for("callback.attempt_failed", count=3)]
    assert [(f["attempt"], f["number"], f["outcome"], f["email"]) for f in failed] == [
        (1, CALLING, "no_answer", EMAIL), (2, CALLING, "busy", EMAIL), (3, ORDER, "failed", EMAIL)]
    assert [f["attempts_left"] for f in failed] == [2, 1, 0]


async def test_no_attempt_after_the_customer_was_reached_R_S2(world):
    await world.contract(customer_id="sage-1", plan_id="sage-warranty-vip")  # priority dialing includes callback
    callback = (await request_callback(world)).json()
    agent = world.tickets("agent")
    await agent.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "no_answer"})
    reached = await agent.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "reached"})
    assert reached.json()["status"] == "completed" and reached.json()["completed_at"] is not None
    assert reached.json()["attempts"][1]["outcome"] == "reached"
    again = await agent.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "no_answer"})
    assert (again.status_code, again.json()["error"]) == (409, "callback_completed")
    await world.receiver.wait_for("callback.completed")
    assert len(world.receiver.of_type("callback.attempt_failed")) == 1  # only the one failed attempt


async def test_callback_refused_for_a_plan_without_it_R_S2(world):
    await world.contract(customer_id="sage-1", plan_id="sage-warranty-komfort")
    refused = await request_callback(world)
    assert (refused.status_code, refused.json()["error"]) == (403, "callback_not_in_plan")
    assert "sage-warranty-komfort" in refused.json()["detail"]
    await world.contract(customer_id="o365-1", plan_id="o365-advanced")
    o365 = await request_callback(world, customer_id="o365-1", product="office365-support")
    assert (o365.status_code, o365.json()["error"]) == (403, "callback_not_in_plan")
    nothing = await request_callback(world, customer_id="nobody")
    assert (nothing.status_code, nothing.json()["error"]) == (403, "no_entitlement")


async def test_only_agents_record_attempts_and_customers_see_only_their_own_R_S2(world):
    await world.contract(customer_id="sage-1", plan_id="sage-warranty-prestige")
    await world.contract(customer_id="sage-2", plan_id="sage-subscription-vip-plus")
    mine = (await request_callback(world)).json()
    theirs = (await request_callback(world, customer_id="sage-2", product="sage-subscription")).json()
    assert theirs["plan_id"] == "sage-subscription-vip-plus"
    customer = world.tickets("customer", customer_id="sage-1")
    assert (await customer.get(f"/v1/callbacks/{mine['id']}")).status_code == 200
    hidden = await customer.get(f"/v1/callbacks/{theirs['id']}")
    assert (hidden.status_code, hidden.json()["error"]) == (404, "callback_not_found")
    assert [c["id"] for c in (await customer.get("/v1/callbacks")).json()["items"]] == [mine["id"]]
    assert (await customer.get("/v1/callbacks", params={"customer_id": "sage-2"})).status_code == 404
    for_them = await request_callback(world, customer, customer_id="sage-2", product="sage-subscription")
    assert for_them.status_code == 404
    assert (await customer.post(f"/v1/callbacks/{mine['id']}/attempts", json={"outcome": "busy"})).status_code == 403

    agent = world.tickets("agent")
    await agent.post(f"/v1/callbacks/{theirs['id']}/attempts", json={"outcome": "reached"})
    completed = (await agent.get("/v1/callbacks", params={"status": "completed"})).json()["items"]
    assert [c["id"] for c in completed] == [theirs["id"]]
    scheduled = (await agent.get("/v1/callbacks", params={"customer_id": "sage-1", "status": "scheduled"})).json()
    assert [c["id"] for c in scheduled["items"]] == [mine["id"]]


async def test_a_retried_request_with_the_same_idempotency_key_schedules_once(world):
    await world.contract(customer_id="sage-1", plan_id="sage-warranty-prestige")
    key = str(uuid.uuid4())
    first = await request_callback(world, key=key)
    again = await request_callback(world, key=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["id"] == first.json()["id"]
    assert len((await world.tickets("agent").get("/v1/callbacks")).json()["items"]) == 1


async def test_a_callback_about_a_ticket_is_in_the_ticket_history(world):
    await world.contract(customer_id="sage-1", plan_id="sage-warranty-prestige")
    await world.contract(customer_id="sage-2", plan_id="sage-warranty-prestige")
    ticket = (await world.file(customer_id="sage-1", product="sage-warranty", category="phone_support")).json()
    other = (await world.file(customer_id="sage-2", product="sage-warranty", category="phone_support")).json()
    callback = (await request_callback(world, ticket_id=ticket["id"])).json()
    assert callback["ticket_id"] == ticket["id"]
    history = (await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}/history")).json()
    assert (history[-1]["kind"], history[-1]["data"]) == ("callback_requested", {"callback_id": callback["id"]})
    foreign = await request_callback(world, ticket_id=other["id"])
    assert foreign.status_code == 422
    missing = await request_callback(world, ticket_id="tkt_nope")
    assert (missing.status_code, missing.json()["error"]) == (404, "ticket_not_found")
