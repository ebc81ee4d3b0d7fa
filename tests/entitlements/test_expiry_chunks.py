"""The expiry run (R-E1, R-E6, R-E9) walks its two index ranges in chunks, each its own
transaction: with more contracts due than a chunk holds, every one ends once, with its
data-disposition deadline, and contracts not due are left alone."""

from __future__ import annotations

import asyncio

import pytest

from tests.entitlements.helpers import active_contract

CHUNK = 3


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"expiry_chunk_size": CHUNK})


async def _contracts(shop, service, count: int, term_months: int) -> list[str]:
    return [(await active_contract(shop, service, reference=f"tenant-{term_months}-{i}", term_months=term_months))["id"]
            for i in range(count)]


async def test_more_contracts_than_a_chunk_each_end_once_R_E1(shop, service, admin, receiver):
    expiring = await _contracts(shop, service, 7, term_months=1)  # ends on 2026-12-20
    staying = await _contracts(shop, service, 2, term_months=12)
    scheduled = []
    for cid in staying[:1] + await _contracts(shop, service, 4, term_months=24):
        response = await service.post(f"/v1/contracts/{cid}/terminate", json={"reason": "terms_change_customer"})
        assert response.json()["termination_scheduled_on"] == "2026-11-28", response.text  # 7 days' notice
        scheduled.append(cid)
    run = (await service.post("/v1/contracts/expire-run", json={"as_of": "2026-12-21"})).json()
    assert sorted(run["expired"]) == sorted(expiring)
    assert sorted(run["terminated"]) == sorted(scheduled)
    again = (await service.post("/v1/contracts/expire-run", json={"as_of": "2026-12-22"})).json()
    assert (again["expired"], again["terminated"]) == ([], [])
    assert (await shop.get(f"/v1/contracts/{staying[1]}")).json()["status"] == "active"
    await receiver.wait_for("contract.expired", count=7)
    assert sorted(e["data"]["contract_id"] for e in receiver.of_type("contract.expired")) == sorted(expiring)
    deadlines = (await admin.get("/v1/data-dispositions")).json()  # R-E9: one deadline per ended contract
    assert sorted(d["contract_id"] for d in deadlines) == sorted(expiring + scheduled)


async def test_replicas_share_the_run_each_contract_ends_once(shop, service, receiver, postgres_only):
    """Four runs at once over chunks of three: contracts are claimed with SKIP LOCKED (PostgreSQL)."""
    expiring = await _contracts(shop, service, 10, term_months=1)
    runs = await asyncio.gather(*(service.post("/v1/contracts/expire-run", json={"as_of": "2026-12-21"})
                                  for _ in range(4)))
    assert sorted(c for r in runs for c in r.json()["expired"]) == sorted(expiring)
    await receiver.wait_for("contract.expired", count=10)
    assert len(receiver.of_type("contract.expired")) == 10
