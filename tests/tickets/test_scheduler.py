"""The background SLA scheduler raises warnings without anyone calling the scan."""

from __future__ import annotations

import pytest

from tests.tickets.conftest import at


@pytest.fixture
def tickets_settings_overrides() -> dict:
    return {"sla_scan_interval": 0.05}


async def test_the_scheduler_scans_by_itself(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    ticket = (await world.file()).json()
    world.clock.set(at("2026-11-23 12:31"))  # past the 12:30 deadline
    breached = await world.receiver.wait_for("ticket.sla_breached", timeout=10)
    assert breached[0]["data"]["ticket_id"] == ticket["id"]
