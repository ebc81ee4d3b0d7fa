"""The billing run as durable work (R-B1, R-B9, R-B11): recorded and answered at once, its chunks
of contracts invoiced by any worker, its progress, figures and failures on its record, a chunk
left by a dead worker taken again, and starting a period again joining or replaying the run."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.billing.main import create_app  # noqa: F401 - models registered
from services.billing.service.run_worker import RunWorker
from services.billing.service.runs import chunk_ranges
from shared.runtime import Runtime
from tests.billing.conftest import CARD_OK
from tests.tickets.conftest import at

WAIT = {"Prefer": "wait=120"}


@pytest.fixture
def billing_overrides() -> dict[str, object]:
    # small chunks so that a handful of contracts makes several; a short lease for the dead worker
    return {"billing_run_chunk_size": 2, "billing_run_lease": 1.0}


async def _active(bw, n: int) -> list[dict]:  # type: ignore[no-untyped-def]
    contracts = [await bw.buy(CARD_OK, customer_id=f"cust-run-{k}") for k in range(n)]
    for contract in contracts:
        await bw.status(contract["id"], "active")
    return contracts


async def _december_numbers(bw, contracts) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted([i["number"] for c in contracts for i in await bw.invoices(c["id"]) if i["period"] == "2026-12"])


def _consecutive(numbers: list[str]) -> bool:
    tails = [int(n.rsplit("/", 1)[1]) for n in numbers]
    return tails == list(range(tails[0], tails[0] + len(tails)))


def test_R_B11_chunk_ranges_tile_every_contract_id() -> None:
    ids = [f"ctr_{n:03d}" for n in range(7)]
    assert chunk_ranges(ids, 3) == [("", "ctr_003", 3), ("ctr_003", "ctr_006", 3), ("ctr_006", None, 1)]
    assert chunk_ranges([], 3) == [("", None, 0)]  # an empty run is one chunk that finds nothing


async def test_R_B11_a_run_is_answered_at_once_and_its_record_shows_progress_and_figures(bw):
    contracts = await _active(bw, 5)
    bw.clock.set(at("2026-11-30 12:00"))  # inside December's charge window (R-B4)
    started = await bw.billing().post("/v1/billing-runs", json={"period": "2026-12",
                                                               "as_of": bw.clock.now().isoformat()})
    assert started.status_code == 202, started.text
    run = started.json()
    assert started.headers["location"] == f"/v1/billing-runs/{run['id']}"
    assert (run["period"], run["total"], run["chunks"]) == ("2026-12", 5, 3)

    async def finished():  # type: ignore[no-untyped-def]
        record = (await bw.billing().get(f"/v1/billing-runs/{run['id']}")).json()
        return record if record["status"] == "finished" else None
    record = await bw.until(finished, "the run to finish")
    assert (record["done"], record["chunks_done"], record["invoiced"], record["charges_now"], record["failed"]) == (
        5, 3, 5, 5, 0)
    assert record["finished_at"] is not None and record["failures"] == []
    numbers = await _december_numbers(bw, contracts)
    assert len(numbers) == 5 and _consecutive(numbers)  # R-B9: one block per chunk, no gap between chunks
    for contract in contracts:  # the charges went out: each December invoice is paid once
        await bw.invoice_where(contract["id"], lambda i: i["period"] == "2026-12" and i["status"] == "paid",
                               "December's invoice paid")


async def test_R_B11_starting_a_finished_period_again_replays_it_and_issues_nothing(bw):
    contracts = await _active(bw, 3)
    bw.clock.set(at("2026-11-30 12:00"))
    body = {"period": "2026-12", "as_of": bw.clock.now().isoformat()}
    first = (await bw.billing().post("/v1/billing-runs", json=body, headers=WAIT)).json()
    again = await bw.billing().post("/v1/billing-runs", json=body, headers=WAIT)
    assert again.status_code == 200 and again.headers["preference-applied"] == "wait=120"
    assert again.json()["id"] != first["id"]
    assert (first["invoiced"], again.json()["invoiced"], again.json()["already_invoiced"]) == (3, 0, 3)
    assert len(await _december_numbers(bw, contracts)) == 3


async def test_R_B11_an_idempotency_key_names_one_start(bw):
    await _active(bw, 1)
    bw.clock.set(at("2026-11-30 12:00"))
    key = {"Idempotency-Key": str(uuid.uuid4()), **WAIT}
    body = {"period": "2026-12", "as_of": bw.clock.now().isoformat()}
    first = (await bw.billing().post("/v1/billing-runs", json=body, headers=key)).json()
    repeat = (await bw.billing().post("/v1/billing-runs", json=body, headers=key)).json()
    assert repeat["id"] == first["id"]
    other = await bw.billing().post("/v1/billing-runs", json={**body, "period": "2026-11"}, headers=key)
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")


async def test_R_B11_a_contract_that_cannot_be_invoiced_is_recorded_and_the_run_goes_on(bw):
    contracts = await _active(bw, 4)
    broken = contracts[1]["id"]
    engine = create_async_engine(bw.settings.database_url)
    try:  # an account whose price schedule was lost (no price to bill): a data fault, not a crash
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM plan_price WHERE contract_id = :c"), {"c": broken})
    finally:
        await engine.dispose()
    bw.clock.set(at("2026-11-30 12:00"))
    run = (await bw.billing().post("/v1/billing-runs", json={"period": "2026-12", "as_of": bw.clock.now().isoformat()},
                                   headers=WAIT)).json()
    assert (run["status"], run["invoiced"], run["failed"]) == ("finished", 3, 1)
    assert [f["contract_id"] for f in run["failures"]] == [broken]
    assert "price schedule" in run["failures"][0]["reason"]
    assert [i for i in await bw.invoices(broken) if i["period"] == "2026-12"] == []


async def test_R_B11_a_chunk_left_by_a_dead_worker_is_taken_again_after_its_lease(bw):
    contracts = await _active(bw, 5)
    bw.clock.set(at("2026-11-30 12:00"))
    body = {"period": "2026-12", "as_of": bw.clock.now().isoformat()}
    dead = Runtime(bw.settings)
    try:
        await bw.billing_app.state.runtime.loops["billing-runs"].stop()  # only the dead worker and the caller
        run = (await bw.billing().post("/v1/billing-runs", json=body)).json()
        claimed = await RunWorker(dead, bw.settings, name="dead")._claim()  # leased, then the worker "dies"
        assert claimed is not None and claimed.run_id == run["id"]
    finally:
        await dead.db.dispose()
    joined = (await bw.billing().post("/v1/billing-runs", json=body, headers=WAIT)).json()
    assert joined["id"] == run["id"]  # starting a running period joins it
    assert (joined["status"], joined["invoiced"], joined["chunks_retaken"]) == ("finished", 5, 1)
    numbers = await _december_numbers(bw, contracts)
    assert len(numbers) == 5 and _consecutive(numbers)


async def test_a_run_nobody_started_is_404_and_a_far_period_422(bw):
    missing = await bw.billing().get("/v1/billing-runs/brun_missing")
    assert (missing.status_code, missing.json()["error"]) == (404, "billing_run_not_found")
    far = await bw.billing().post("/v1/billing-runs", json={"period": "2027-06", "as_of": bw.clock.now().isoformat()})
    assert (far.status_code, far.json()["error"]) == (422, "invalid_period")
    shop = await bw.billing("shop").get("/v1/billing-runs/brun_missing")
    assert shop.status_code == 403
