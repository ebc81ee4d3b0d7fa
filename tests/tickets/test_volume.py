"""Volume data (`supportctl volume tickets`) is data the tickets service works with: loaded with
COPY into a migrated tickets database, its awaiting tickets are in the agent queue in queue order
(R-S3), a loaded ticket reads whole with its history, and the SLA scan raises the warnings due on
them (R-T4, at 75 % of the target, while the hours are open) once each. PostgreSQL only: COPY."""

from __future__ import annotations

from services.cli.volume.app import asyncpg_dsn
from services.cli.volume.tickets import LOADED_AT, load_tickets
from tests.tickets.conftest import at

TICKETS, AWAITING = 500, 50


async def _queue(client, **params) -> list[dict]:
    """Every page of the agent queue, following the cursor."""
    items: list[dict] = []
    cursor = None
    while True:
        response = await client.get("/v1/tickets", params={**params, "limit": 37,
                                                            **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def test_loaded_tickets_are_queued_read_whole_and_warned_once(world, postgres_only):
    counts = await load_tickets(asyncpg_dsn(world.settings.database_url), TICKETS, AWAITING)
    assert counts["ticket"] == TICKETS and counts["ticket_message"] > TICKETS and counts["ticket_event"] > TICKETS
    world.clock.set(LOADED_AT)
    agent = world.tickets("agent")
    awaiting = {f"tkt_vol{k:012d}" for k in range(TICKETS - AWAITING, TICKETS)}  # the last ones loaded

    # the agent queue: every open ticket once, the awaiting ones' clocks running, in queue order
    queue = await _queue(agent)
    ids = [t["id"] for t in queue]
    assert len(ids) == len(set(ids)) and awaiting <= set(ids)
    assert {t["status"] for t in queue} <= {"new", "open", "awaiting_customer"}
    running = [t for t in queue if t["id"] in awaiting]
    assert {t["sla"]["state"] for t in running} == {"running"}
    assert running == sorted(running, key=lambda t: (-t["priority"], t["sla"]["reaction_due_at"], t["id"]))
    assert {t["plan"]["plan_id"] for t in running} == {"o365-standard", "o365-advanced", "o365-free"}
    advanced = [t for t in running if t["plan"]["plan_id"] == "o365-advanced"]
    assert all(t["priority"] == 1 and t["assignee"].startswith("tam") for t in advanced)  # R-S3, R-T8
    assert ids.index(advanced[0]["id"]) < min(ids.index(t["id"]) for t in running if t["priority"] == 0)

    # a customer sees its own tickets, closed history included
    customer = running[0]["customer_id"]
    own = await _queue(world.tickets("customer", customer_id=customer),
                       status=["new", "open", "awaiting_customer", "resolved", "closed"])
    assert {t["customer_id"] for t in own} == {customer} and len(own) == 10  # ten tickets per customer

    # a closed ticket reads whole: both messages, met, and its history in order
    closed = "tkt_vol000000000000"
    detail = (await agent.get(f"/v1/tickets/{closed}")).json()
    assert (detail["status"], detail["sla"]["state"]) == ("closed", "met")
    assert [m["author_kind"] for m in detail["messages"]][1:] == ["agent"] and len(detail["messages"]) == 2
    assert detail["sla"]["explanation"] and detail["closed_at"] > detail["resolved_at"] > detail["accepted_at"]
    history = (await agent.get(f"/v1/tickets/{closed}/history")).json()
    assert [e["kind"] for e in history] == ["created", "first_response", "status_changed", "message",
                                            "status_changed", "status_changed"]
    assert [e["data"].get("to") for e in history if e["kind"] == "status_changed"] == ["open", "resolved", "closed"]
    fresh = (await agent.get(f"/v1/tickets/{running[0]['id']}")).json()
    assert fresh["status"] == "new" and len(fresh["messages"]) == 1

    # Friday 16:05 Warsaw: Standard and Advanced tickets are past their warning (15:30-16:00), not
    # yet due (16:30 on); Free ones (round-the-clock business days) are due for theirs on Monday
    due = {t["id"] for t in running if t["plan"]["plan_id"] != "o365-free"}
    world.clock.set(at("2026-11-20 16:05"))
    scanned = await world.sla_scan("2026-11-20 16:05")
    assert (sorted(scanned["warned"]), scanned["breached"]) == (sorted(due), [])
    again = await world.sla_scan("2026-11-20 16:05")
    assert (again["warned"], again["breached"]) == ([], [])  # each warning once
    events = await world.receiver.wait_for("ticket.sla_warning", count=len(due))
    assert sorted(e["data"]["ticket_id"] for e in events) == sorted(due)
    warned = [t for t in await _queue(agent) if t["id"] in due]
    assert {t["sla"]["state"] for t in warned} == {"warning"}
