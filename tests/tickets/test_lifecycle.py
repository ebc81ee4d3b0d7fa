"""Ticket life cycle: replies, internal notes, the paused clock, resolution and reopening
(R-T2, R-T4), and who sees what."""

from __future__ import annotations

from datetime import timedelta

from tests.tickets.conftest import at


async def test_first_public_agent_reply_meets_the_reaction_target_R_T4(world):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract()
    ticket = (await world.file()).json()
    agent = world.tickets("agent", sub="agent-ola")
    note = await agent.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "Checking the tenant logs",
                                                                          "visibility": "internal"})
    assert note.status_code == 201
    still = (await agent.get(f"/v1/tickets/{ticket['id']}")).json()
    assert still["sla"]["state"] == "running"  # an internal note is not a reaction
    world.clock.set(at("2026-11-23 10:00"))
    reply = await agent.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "Please update Teams to ..."})
    assert reply.status_code == 201
    after = (await agent.get(f"/v1/tickets/{ticket['id']}")).json()
    assert (after["status"], after["sla"]["state"]) == ("open", "met")
    assert after["sla"]["first_response_at"].startswith("2026-11-23T09:00:00")
    await world.receiver.wait_for("ticket.replied")


async def test_customers_never_see_internal_notes(world):
    await world.contract()
    ticket = (await world.file()).json()
    agent = world.tickets("agent")
    await agent.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "customer seems confused",
                                                                   "visibility": "internal"})
    customer = world.tickets("customer", customer_id="cust-1")
    seen = (await customer.get(f"/v1/tickets/{ticket['id']}")).json()
    assert all(m["visibility"] == "public" for m in seen["messages"])
    assert "confused" not in str(seen)
    refused = await customer.post(f"/v1/tickets/{ticket['id']}/messages",
                                  json={"body": "x", "visibility": "internal"})
    assert refused.status_code == 403


async def test_waiting_for_the_customer_pauses_the_clock_R_T2(world):
    world.clock.set(at("2026-11-23 08:30"))  # Monday opening; due 12:30 without pauses
    await world.contract()
    ticket = (await world.file()).json()
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-23T11:30:00")
    agent = world.tickets("agent")
    world.clock.set(at("2026-11-23 09:30"))
    paused = await agent.post(f"/v1/tickets/{ticket['id']}/request-details",
                              json={"body": "Which users are affected, and since when exactly?"})
    assert (paused.json()["status"], paused.json()["sla"]["state"]) == ("awaiting_customer", "paused")
    world.clock.set(at("2026-11-23 11:30"))  # the customer answers two hours later
    customer = world.tickets("customer", customer_id="cust-1")
    await customer.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "All of sales, since Monday 8:00."})
    resumed = (await agent.get(f"/v1/tickets/{ticket['id']}")).json()
    assert resumed["status"] == "open"
    assert resumed["sla"]["reaction_due_at"].startswith("2026-11-23T13:30:00")  # moved by the 2 h paused
    # Reading the ticket explains its deadline with the pause in it (local time, CET).
    assert "paused 2 h" in resumed["sla"]["explanation"] and "14:30" in resumed["sla"]["explanation"]
    assert ticket["sla"]["explanation"] is None  # the create response leaves it to the read
    history = [e["kind"] for e in (await agent.get(f"/v1/tickets/{ticket['id']}/history")).json()]
    assert history.count("status_changed") == 2


async def test_details_cannot_be_requested_of_a_resolved_ticket(world):
    await world.contract()
    ticket = (await world.file()).json()
    agent = world.tickets("agent")
    await agent.post(f"/v1/tickets/{ticket['id']}/resolve", json={"note": "fixed"})
    response = await agent.post(f"/v1/tickets/{ticket['id']}/request-details", json={"body": "more?"})
    assert (response.status_code, response.json()["error"]) == (409, "invalid_transition")


async def test_reopen_within_14_days_then_close(world):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract()
    ticket = (await world.file()).json()
    agent = world.tickets("agent")
    resolved = (await agent.post(f"/v1/tickets/{ticket['id']}/resolve")).json()
    assert resolved["status"] == "resolved"
    await world.receiver.wait_for("ticket.resolved")
    customer = world.tickets("customer", customer_id="cust-1")
    world.clock.advance(timedelta(days=13))
    assert (await customer.post(f"/v1/tickets/{ticket['id']}/reopen")).json()["status"] == "open"
    await agent.post(f"/v1/tickets/{ticket['id']}/resolve")
    world.clock.advance(timedelta(days=15))
    late = await customer.post(f"/v1/tickets/{ticket['id']}/reopen")
    assert (late.status_code, late.json()["error"]) == (409, "reopen_window_over")
    closed = await agent.post(f"/v1/tickets/{ticket['id']}/close")
    assert closed.json()["status"] == "closed"
    reply = await customer.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "one more thing"})
    assert (reply.status_code, reply.json()["error"]) == (409, "ticket_closed")


async def test_queue_is_ordered_by_priority_then_time_to_breach_R_S3(world):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract(customer_id="std")
    await world.contract(customer_id="adv", plan_id="o365-advanced")
    first_std = (await world.file(customer_id="std")).json()
    world.clock.set(at("2026-11-23 10:00"))
    second_std = (await world.file(customer_id="std")).json()
    adv = (await world.file(customer_id="adv", category="admin_management")).json()
    agent = world.tickets("agent")
    await agent.post(f"/v1/tickets/{first_std['id']}/messages", json={"body": "on it"})  # clock stops
    queue = (await agent.get("/v1/tickets")).json()["items"]
    assert [t["id"] for t in queue] == [adv["id"], second_std["id"], first_std["id"]]
    page1 = (await agent.get("/v1/tickets", params={"limit": 2})).json()
    page2 = (await agent.get("/v1/tickets", params={"limit": 2, "cursor": page1["next_cursor"]})).json()
    assert [t["id"] for t in page1["items"] + page2["items"]] == [t["id"] for t in queue]
    met = (await agent.get("/v1/tickets", params={"sla_state": "met"})).json()["items"]
    assert [t["id"] for t in met] == [first_std["id"]]


async def test_customers_see_only_their_own_tickets(world):
    await world.contract(customer_id="cust-1")
    await world.contract(customer_id="cust-2")
    mine = (await world.file(customer_id="cust-1")).json()
    theirs = (await world.file(customer_id="cust-2")).json()
    customer = world.tickets("customer", customer_id="cust-1")
    assert (await customer.get(f"/v1/tickets/{theirs['id']}")).status_code == 404
    listed = (await customer.get("/v1/tickets")).json()["items"]
    assert [t["id"] for t in listed] == [mine["id"]]
    assert (await customer.get("/v1/tickets", params={"customer_id": "cust-2"})).status_code == 404


async def test_assignment_is_recorded(world):
    await world.contract()
    ticket = (await world.file()).json()
    agent = world.tickets("agent", sub="agent-ola")
    assigned = await agent.post(f"/v1/tickets/{ticket['id']}/assign", json={"assignee": "agent-ola"})
    assert assigned.json()["assignee"] == "agent-ola"
    mine = (await agent.get("/v1/tickets", params={"assignee": "agent-ola"})).json()["items"]
    assert [t["id"] for t in mine] == [ticket["id"]]
