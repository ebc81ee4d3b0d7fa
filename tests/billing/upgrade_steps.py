"""Steps for the upgrade-billing tests: contracts bought and upgraded through entitlements' API,
billing runs and invoices read through billing's, waits that poll sparingly (the services under
test share this process's CPU)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date, datetime
from typing import Any

from tests.billing.conftest import BillingWorld
from tests.billing.upgrade_oracle import Billed

CONCURRENCY = 24


async def gather(coros: list[Any], limit: int = CONCURRENCY) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro
    return await asyncio.gather(*(one(c) for c in coros))


async def upgrade_pairs(bw: BillingWorld) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Every (product, lower plan, higher plan) the catalogue sells, read through its API."""
    products = (await bw.entitlements().get("/v1/products")).json()
    pairs = []
    for product in products:
        sold = sorted((p for p in product["plans"] if p["purchasable"]), key=lambda p: p["rank"])
        pairs += [(product, low, high) for low, high in itertools.combinations(sold, 2) if low["rank"] < high["rank"]]
    return pairs


async def wait_for_events(bw: BillingWorld, event_type: str, ids: set[str]) -> None:
    """Until the recording receiver has `event_type` for every contract (cheap: in memory)."""
    async def probe() -> bool:
        return ids <= {e["subject"] for e in bw.receiver.of_type(event_type)}
    await bw.until(probe, f"{event_type} for {len(ids)} contracts", timeout=300)


async def wait_for_billing(bw: BillingWorld, ids: set[str], test: Any, what: str) -> None:
    """Polls billing's accounts until each passes `test` (billing applies each event a moment
    after the receiver saw it); sparingly, so as not to slow the services it waits for."""
    waiting = set(ids)
    client = bw.billing()
    deadline = asyncio.get_running_loop().time() + 60
    while waiting:
        answers = await gather([client.get(f"/v1/accounts/{cid}") for cid in sorted(waiting)])
        waiting -= {cid for cid, answer in zip(sorted(waiting), answers)
                    if answer.status_code == 200 and test(answer.json())}
        if waiting and asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"billing {what}: {len(waiting)} of {len(ids)} contracts not yet")
        await asyncio.sleep(0.3 if waiting else 0)


async def upgrade(bw: BillingWorld, contract_id: str, plan_id: str, on: date | None = None) -> dict[str, Any]:
    body = {"plan_id": plan_id} | ({"as_of": on.isoformat()} if on else {})
    response = await bw.entitlements("shop").post(f"/v1/contracts/{contract_id}/upgrade", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def applied(plan_id: str) -> Any:
    return lambda account: account["plan_id"] == plan_id and all(
        row["state"] == "applied" for row in account["price_schedule"])


async def run(bw: BillingWorld, period: str, as_of: datetime) -> dict[str, Any]:
    response = await bw.billing().post("/v1/billing-runs", json={"period": period, "as_of": as_of.isoformat()},
                                       headers={"Prefer": "wait=300"}, timeout=310)  # answered when finished
    assert response.status_code == 200, response.text
    return response.json()


async def read_billed(bw: BillingWorld, contract_id: str) -> Billed:
    billed = Billed()
    client = bw.billing()
    for summary in await bw.invoices(contract_id):
        if summary["kind"] == "invoice":
            answer = await client.get(f"/v1/invoices/{summary['id']}")
            assert answer.status_code == 200, answer.text
            billed.add(answer.json())
    return billed


def month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)
