"""The SLA scan reads each ticket's stored next instant as an index range, chunk after chunk
(R-T4): with more tickets awaiting a reaction than a chunk holds, every one is warned once and
breached once; pausing for the customer (R-T2) and resuming move the stored instant."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from services.tickets.models import Ticket
from services.tickets.service.monitor import scan_once
from tests.tickets.conftest import at

CHUNK = 3


@pytest.fixture
def tickets_settings_overrides() -> dict:
    return {"sla_scan_chunk_size": CHUNK}


async def _next_check(world, ticket_id: str) -> datetime | None:
    async with world.tickets_app.state.runtime.db.session() as session:
        return (await session.get(Ticket, ticket_id)).sla_next_check_at


async def _file_many(world, count: int) -> list[str]:
    world.clock.set(at("2026-11-23 08:30"))  # Monday opening: warning 11:30, due 12:30 (o365-standard, 4 h)
    await world.contract()
    return [(await world.file()).json()["id"] for _ in range(count)]


async def test_more_tickets_than_a_chunk_each_warned_and_breached_once_R_T4(world):
    tickets = await _file_many(world, 10)
    assert await scan_once(world.tickets_app.state.runtime, at("2026-11-23 11:00")) == 0  # nothing due yet
    warned = await world.sla_scan("2026-11-23 11:30")
    assert sorted(warned["warned"]) == sorted(tickets) and warned["breached"] == []
    assert (await world.sla_scan("2026-11-23 11:45"))["warned"] == []  # once
    breached = await world.sla_scan("2026-11-23 12:30")
    assert sorted(breached["breached"]) == sorted(tickets) and breached["warned"] == []
    assert (await world.sla_scan("2026-11-23 13:00"))["breached"] == []  # once
    assert [await _next_check(world, t) for t in tickets] == [None] * 10  # no clock runs any more
    await world.receiver.wait_for("ticket.sla_breached", count=10)
    for kind in ("ticket.sla_warning", "ticket.sla_breached"):
        assert sorted(e["data"]["ticket_id"] for e in world.receiver.of_type(kind)) == sorted(tickets)


async def test_scan_once_counts_the_tickets_it_handled(world):
    tickets = await _file_many(world, 4)
    runtime = world.tickets_app.state.runtime
    assert await scan_once(runtime, at("2026-11-23 11:30")) == len(tickets)  # each warned
    assert await scan_once(runtime, at("2026-11-23 11:31")) == 0  # next instant: the deadline


async def test_pausing_and_resuming_move_the_stored_instant_R_T2(world):
    ticket = (await _file_many(world, 1))[0]
    assert await _next_check(world, ticket) == at("2026-11-23 11:30")  # the warning instant
    agent = world.tickets("agent")
    world.clock.set(at("2026-11-23 09:30"))
    await agent.post(f"/v1/tickets/{ticket}/request-details", json={"body": "Which users are affected, and since?"})
    assert await _next_check(world, ticket) is None  # the clock stands
    assert (await world.sla_scan("2026-11-23 11:30"))["warned"] == []
    world.clock.set(at("2026-11-23 11:30"))  # the customer answers two hours later
    await world.tickets("customer", customer_id="cust-1").post(
        f"/v1/tickets/{ticket}/messages", json={"body": "All of sales, since Monday 8:00."})
    assert await _next_check(world, ticket) == at("2026-11-23 13:30")  # warning moved by the 2 h paused
    assert (await world.sla_scan("2026-11-23 13:29"))["warned"] == []
    assert (await world.sla_scan("2026-11-23 13:30"))["warned"] == [ticket]
    assert await _next_check(world, ticket) == at("2026-11-23 14:30")  # now the deadline
    assert (await world.sla_scan("2026-11-23 14:30"))["breached"] == [ticket]
    assert await _next_check(world, ticket) is None


async def test_a_reply_or_resolution_clears_the_instant_and_reopening_restores_it(world):
    first, second = await _file_many(world, 2)
    agent = world.tickets("agent")
    await agent.post(f"/v1/tickets/{first}/messages", json={"body": "Looking into it now."})
    await agent.post(f"/v1/tickets/{second}/resolve", json={"note": "duplicate"})
    assert (await _next_check(world, first), await _next_check(world, second)) == (None, None)
    await agent.post(f"/v1/tickets/{second}/reopen")
    assert await _next_check(world, second) == at("2026-11-23 11:30")
    assert (await world.sla_scan("2026-11-23 11:30"))["warned"] == [second]


async def test_replicas_share_the_chunks_each_breach_once(world, postgres_only):
    """Four scans at once over chunks of three: rows are claimed with SKIP LOCKED (PostgreSQL)."""
    tickets = await _file_many(world, 10)
    supervisor = world.tickets("supervisor")
    results = await asyncio.gather(*(supervisor.post("/v1/sla/scan", json={"as_of": at("2026-11-23 12:30").isoformat()})
                                     for _ in range(4)))
    breached = [t for r in results for t in r.json()["breached"]]
    assert sorted(breached) == sorted(tickets)
    await world.receiver.wait_for("ticket.sla_breached", count=10)
    assert len(world.receiver.of_type("ticket.sla_breached")) == 10
