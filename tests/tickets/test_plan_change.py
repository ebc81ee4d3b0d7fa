"""An upgrade while a ticket is open (docs/sla-upgrade.md): the ticket keeps the business time
already used on the old plan's calendar and gets the new plan's target, on the new plan's
calendar, from the moment of the upgrade. Entitlements' real `contract.upgraded` event is handed
to the tickets inbox as its outbox would deliver it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.tickets.conftest import at


@pytest.fixture
def entitlements_events() -> list[str]:
    return ["usage.*", "contract.upgraded"]


async def _upgrade(world, contract_id: str) -> dict:
    """The customer asks for Advanced and billing reports the supplement paid; returns the event."""
    ent = world.entitlements("admin")
    assert (await ent.post(f"/v1/contracts/{contract_id}/upgrade", json={"plan_id": "o365-advanced"})).status_code == 200
    paid = await ent.post(f"/v1/contracts/{contract_id}/upgrade/paid")
    assert paid.status_code == 200, paid.text
    [event] = await world.receiver.wait_for("contract.upgraded")
    return event


async def _deliver(world, event: dict) -> str:
    response = await world.tickets("service").post("/v1/events", json=event)
    assert response.status_code == 200, response.text
    return response.json()["outcome"]


async def test_open_ticket_keeps_time_used_and_gets_the_new_target_from_the_upgrade(world):
    world.clock.set(at("2026-11-20 15:00"))  # Friday; Standard: Mon-Fri 08:30-16:30, 240 min
    contract = await world.contract(plan_id="o365-standard")
    filed = (await world.file()).json()
    assert filed["sla"]["reaction_due_at"].startswith("2026-11-23T10:00:00")  # 90 min Fri + 150 Mon (UTC+1)
    untouched = (await world.file(subject="Replied before the upgrade")).json()
    world.clock.set(at("2026-11-20 15:30"))
    agent = world.tickets("agent")
    assert (await agent.post(f"/v1/tickets/{untouched['id']}/messages", json={"body": "Looking at it now."})
            ).status_code == 201

    world.clock.set(at("2026-11-20 16:00"))  # 60 min used on Standard
    event = await _upgrade(world, contract["id"])
    assert await _deliver(world, event) == "applied"

    ticket = (await agent.get(f"/v1/tickets/{filed['id']}")).json()
    # Advanced: Mon-Fri 08:30-18:30, Sat 08:30-16:30; 180 min left: Fri 16:00-18:30 (150) + Sat 30 → Sat 09:00
    assert ticket["plan"]["plan_id"] == "o365-advanced"
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-21T08:00:00")
    assert "60 business minutes used on plan o365-standard" in ticket["sla"]["explanation"]
    history = (await agent.get(f"/v1/tickets/{filed['id']}/history")).json()
    assert [h["data"]["used_minutes"] for h in history if h["kind"] == "plan_changed"] == [60]
    # a ticket already reacted to keeps its plan and its recorded outcome
    kept = (await agent.get(f"/v1/tickets/{untouched['id']}")).json()
    assert (kept["plan"]["plan_id"], kept["sla"]["state"]) == ("o365-standard", "met")
    # the same event delivered again changes nothing
    assert await _deliver(world, event) == "duplicate"
    assert (await agent.get(f"/v1/tickets/{filed['id']}")).json()["sla"] == ticket["sla"]


async def test_a_target_already_used_up_on_the_old_plan_is_due_at_the_upgrade(world):
    world.clock.set(at("2026-11-19 09:00"))  # Thursday
    contract = await world.contract(plan_id="o365-standard")
    filed = (await world.file()).json()
    world.clock.set(at("2026-11-19 09:00") + timedelta(hours=5))  # 300 min used > 240: breached on Standard
    event = await _upgrade(world, contract["id"])
    assert await _deliver(world, event) == "applied"
    ticket = (await world.tickets("agent").get(f"/v1/tickets/{filed['id']}")).json()
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-19T13:00:00")  # the moment of the upgrade (14:00 local)
    assert ticket["sla"]["state"] == "breached"


async def test_time_waiting_for_the_customer_before_the_upgrade_is_not_counted(world):
    world.clock.set(at("2026-11-20 15:00"))
    contract = await world.contract(plan_id="o365-standard")
    filed = (await world.file()).json()
    agent = world.tickets("agent")
    world.clock.set(at("2026-11-20 15:20"))  # 20 min used, then paused
    assert (await agent.post(f"/v1/tickets/{filed['id']}/request-details",
                             json={"body": "Which Teams client version do you use?"})).status_code == 200
    world.clock.set(at("2026-11-20 16:00"))
    event = await _upgrade(world, contract["id"])
    assert await _deliver(world, event) == "applied"
    history = (await agent.get(f"/v1/tickets/{filed['id']}/history")).json()
    assert [h["data"]["used_minutes"] for h in history if h["kind"] == "plan_changed"] == [20]
    world.clock.set(at("2026-11-20 16:30"))  # the customer answers: 220 min left on Advanced from now
    customer = world.tickets("customer", customer_id="cust-1")
    assert (await customer.post(f"/v1/tickets/{filed['id']}/messages",
                                json={"body": "Version 24.1, on every laptop."})).status_code == 201
    ticket = (await agent.get(f"/v1/tickets/{filed['id']}")).json()
    # Fri 16:30-18:30 (120) + Sat 08:30 + 100 → Sat 10:10 local = 09:10 UTC
    assert ticket["sla"]["reaction_due_at"].startswith("2026-11-21T09:10:00")
