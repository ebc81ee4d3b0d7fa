"""SLA monitoring: a warning at 75 % while hours are open, a breach at 100 %, each once; the
preview explains a deadline."""

from __future__ import annotations

from tests.tickets.conftest import at


async def test_warning_at_75_percent_and_breach_at_100_each_once(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    ticket = (await world.file()).json()  # due 12:30
    assert (await world.sla_scan("2026-11-23 11:00"))["warned"] == []  # 62.5 % used
    assert (await world.sla_scan("2026-11-23 11:30"))["warned"] == [ticket["id"]]  # 75 %
    assert (await world.sla_scan("2026-11-23 11:45"))["warned"] == []  # once
    breach = await world.sla_scan("2026-11-23 12:30")
    assert breach["breached"] == [ticket["id"]]
    assert (await world.sla_scan("2026-11-23 13:00"))["breached"] == []  # once
    warning = (await world.receiver.wait_for("ticket.sla_warning"))[0]["data"]
    breached = (await world.receiver.wait_for("ticket.sla_breached"))[0]["data"]
    assert (warning["ticket_id"], breached["ticket_id"], breached["kind"]) == (ticket["id"], ticket["id"], "breach")
    seen = (await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}")).json()
    assert seen["sla"]["state"] == "breached"


async def test_no_warning_while_the_hours_are_closed(world):
    world.clock.set(at("2026-11-20 15:30"))  # Friday; 1 h left today, due Monday 11:30
    await world.contract()
    ticket = (await world.file()).json()
    assert (await world.sla_scan("2026-11-22 12:00"))["warned"] == []  # Sunday: nobody on duty
    assert (await world.sla_scan("2026-11-23 10:45"))["warned"] == [ticket["id"]]  # Monday, 3 h 15 min used


async def test_a_met_ticket_never_breaches(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    ticket = (await world.file()).json()
    await world.tickets("agent").post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "hello"})
    assert (await world.sla_scan("2026-11-24 16:00"))["breached"] == []


async def test_free_plan_overrun_is_an_estimate_exceeded_not_a_breach(world):
    world.clock.set(at("2026-11-23 09:00"))
    contract = await world.contract()
    await world.entitlements().post(f"/v1/contracts/{contract['id']}/suspend")
    await world.file(category="documented_solutions")
    await world.sla_scan("2026-11-24 09:00")
    event = (await world.receiver.wait_for("ticket.sla_breached"))[0]["data"]
    assert (event["contractual"], event["kind"]) == (False, "estimate_exceeded")


async def test_preview_explains_the_deadline(world):
    response = await world.tickets("crm").get("/v1/sla/preview", params={
        "plan_id": "o365-standard", "at": at("2026-11-20 15:00").isoformat()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reaction_due_at"].startswith("2026-11-23T10:00:00")
    assert body["limit_due_at"] is None
    assert "Fri" in body["explanation"] and "Mon" in body["explanation"]
    free = (await world.tickets("crm").get("/v1/sla/preview", params={
        "plan_id": "o365-free", "at": at("2026-11-20 15:00").isoformat()})).json()
    assert free["limit_due_at"].startswith("2026-11-24T14:00:00")
    naive = await world.tickets("crm").get("/v1/sla/preview", params={"plan_id": "o365-standard",
                                                                      "at": "2026-11-20T15:00:00"})
    assert naive.status_code == 422


async def test_scan_needs_a_supervisor(world):
    response = await world.tickets("agent").post("/v1/sla/scan", json={"as_of": at("2026-11-23 09:00").isoformat()})
    assert response.status_code == 403


async def test_concurrent_scans_raise_each_warning_once(world, postgres_only):
    """Several replicas scanning at once: rows are claimed with SKIP LOCKED (PostgreSQL)."""
    import asyncio

    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    tickets = [(await world.file()).json()["id"] for _ in range(5)]
    supervisor = world.tickets("supervisor")
    results = await asyncio.gather(*(supervisor.post("/v1/sla/scan", json={"as_of": at("2026-11-23 11:40").isoformat()})
                                     for _ in range(4)))
    warned = [t for r in results for t in r.json()["warned"]]
    assert sorted(warned) == sorted(tickets)
    await world.receiver.wait_for("ticket.sla_warning", count=5)
    assert len(world.receiver.of_type("ticket.sla_warning")) == 5
