"""Force majeure and security pauses (R-T6, R-T10) and the monthly SLA report."""

from __future__ import annotations

from tests.tickets.conftest import at


async def _scan(world, when: str) -> dict:
    return (await world.tickets("supervisor").post("/v1/sla/scan", json={"as_of": at(when).isoformat()})).json()


async def test_breach_inside_a_force_majeure_window_is_excused_not_erased_R_T6(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    ticket = (await world.file()).json()  # due 12:30
    await _scan(world, "2026-11-23 13:00")
    supervisor = world.tickets("supervisor")
    declared = await supervisor.post("/v1/outage-windows", json={
        "kind": "force_majeure", "starts_at": at("2026-11-23 10:00").isoformat(),
        "ends_at": at("2026-11-23 14:00").isoformat(), "description": "Microsoft 365 outage in EU datacentres",
        "products": ["office365-support"]})
    assert declared.status_code == 201, declared.text
    assert declared.json()["excused_ticket_ids"] == [ticket["id"]]
    seen = (await supervisor.get(f"/v1/tickets/{ticket['id']}")).json()
    assert (seen["sla"]["state"], seen["sla"]["excused"]) == ("breached", True)  # kept, excused
    told = (await world.receiver.wait_for("outage.declared"))[0]["data"]
    assert told["expected_duration_minutes"] == 240
    assert told["affected"] == [{"customer_id": "cust-1", "email": "anna@contoso.pl", "ticket_ids": [ticket["id"]]}]


async def test_breach_detected_during_a_declared_security_pause_is_excused_R_T10(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    ticket = (await world.file()).json()
    await world.tickets("supervisor").post("/v1/outage-windows", json={
        "kind": "security_pause", "starts_at": at("2026-11-23 12:00").isoformat(),
        "ends_at": at("2026-11-23 18:00").isoformat(), "description": "Credential leak: remote access paused"})
    await _scan(world, "2026-11-23 12:45")
    breach = (await world.receiver.wait_for("ticket.sla_breached"))[0]["data"]
    assert (breach["ticket_id"], breach["excused"]) == (ticket["id"], True)


async def test_other_products_are_not_excused(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    ticket = (await world.file()).json()
    await _scan(world, "2026-11-23 13:00")
    declared = await world.tickets("supervisor").post("/v1/outage-windows", json={
        "kind": "force_majeure", "starts_at": at("2026-11-23 10:00").isoformat(),
        "ends_at": at("2026-11-23 14:00").isoformat(), "description": "Sage licence server down",
        "products": ["sage-warranty"]})
    assert declared.json()["excused_ticket_ids"] == []
    assert (await world.tickets("agent").get(f"/v1/tickets/{ticket['id']}")).json()["sla"]["excused"] is False


async def test_window_must_end_after_it_starts(world):
    response = await world.tickets("supervisor").post("/v1/outage-windows", json={
        "kind": "force_majeure", "starts_at": at("2026-11-23 14:00").isoformat(),
        "ends_at": at("2026-11-23 10:00").isoformat(), "description": "x"})
    assert response.status_code == 422


async def test_monthly_sla_report_per_plan(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract(customer_id="a")
    met = (await world.file(customer_id="a")).json()
    breached = (await world.file(customer_id="a")).json()
    agent = world.tickets("agent")
    world.clock.set(at("2026-11-23 10:30"))
    await agent.post(f"/v1/tickets/{met['id']}/messages", json={"body": "here is the fix"})
    await _scan(world, "2026-11-23 12:31")
    report = (await world.tickets("supervisor").get("/v1/reports/sla", params={"period": "2026-11"})).json()
    [row] = report["plans"]
    assert row == {"plan_id": "o365-standard", "contractual": True, "tickets": 2, "met": 1, "breached": 1,
                   "excused": 0, "pending": 0, "median_reaction_business_minutes": 120.0}
    assert breached["id"] != met["id"]
    empty = (await world.tickets("supervisor").get("/v1/reports/sla", params={"period": "2026-10"})).json()
    assert empty["plans"] == []
    bad = await world.tickets("supervisor").get("/v1/reports/sla", params={"period": "2026-13"})
    assert bad.status_code == 422
