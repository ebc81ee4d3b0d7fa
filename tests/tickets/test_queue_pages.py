"""The agent queue filtered by SLA state, page by page (R-S3): the state depends on now, so the
service skips the rows that do not match and still fills each page, and the pages together are
the whole filtered queue in queue order."""

from __future__ import annotations

from tests.tickets.conftest import at


async def _pages(agent, params):  # type: ignore[no-untyped-def]
    ids, cursor = [], None
    while True:
        page = (await agent.get("/v1/tickets", params={**params, **({"cursor": cursor} if cursor else {})})).json()
        ids.append([t["id"] for t in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def test_sla_state_filter_fills_each_page_and_pages_cover_the_filtered_queue_R_S3(world):
    world.clock.set(at("2026-11-23 09:00"))
    await world.contract()
    filed = [(await world.file()).json()["id"] for _ in range(5)]
    agent = world.tickets("agent")
    for ticket_id in filed[1::2]:  # the 2nd and 4th are answered: met; the others still run
        await agent.post(f"/v1/tickets/{ticket_id}/messages", json={"body": "on it"})
    running = [t["id"] for t in (await agent.get("/v1/tickets", params={"sla_state": "running"})).json()["items"]]
    assert sorted(running) == sorted(filed[0::2])

    pages = await _pages(agent, {"sla_state": "running", "limit": 2})
    assert [len(p) for p in pages] == [2, 1]
    assert [i for p in pages for i in p] == running
    met_pages = await _pages(agent, {"sla_state": "met", "limit": 1})  # the running ones, first in line, skipped
    assert all(len(p) == 1 for p in met_pages[:2])
    assert sorted(i for p in met_pages for i in p) == sorted(filed[1::2])
