"""Two processes of every service on one PostgreSQL database each, callers spread over both by a
round-robin (DESIGN.md, "Scaling out"): every effect exactly once (R-B1, R-B9, R-B11).

- Purchases paid by card become active once: one first invoice, one charge at the provider, one
  activation, whichever replica took the purchase, the charge, the provider's webhook and the
  event.
- A billing run over 2,000 contracts is shared by both billing replicas; one is SIGKILLed in the
  middle of it and the other finishes it: one invoice per contract, consecutive numbers, one
  charge per invoice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.cli.volume.billing import load_billing
from tests.e2e import steps
from tests.e2e.harness import CARD_OK, Platform, next_month_first, period_of, until, warsaw_today

pytestmark = [pytest.mark.timeout(240)]


async def _scalar(p: Platform, sql: str) -> object:
    engine = create_async_engine(p.databases["billing"].url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def _rows(p: Platform, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = create_async_engine(p.databases["billing"].url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def test_purchases_become_active_once_whichever_replica_takes_each_step(replicated: Platform):
    p = replicated
    customers = [f"cust-rep-{uuid.uuid4().hex[:6]}" for _ in range(8)]
    bought = await asyncio.gather(*(steps.buy(p, c, instrument=CARD_OK) for c in customers))
    for contract in bought:
        await steps.status(p, contract["id"], "active", timeout=60)
    for contract in bought:
        first = [i for i in await steps.invoices(p, contract["id"])]
        assert [i["purpose"] for i in first] == ["first"]
        paid = await steps.invoice_where(p, contract["id"], lambda i: i["status"] == "paid", "the first invoice paid")
        await steps.assert_charged_once(p, paid)
        assert [h["action"] for h in await steps.history(p, contract["id"])] == ["created", "activate"]
    for name in ("entitlements", "billing"):  # the callers reached both replicas of each
        assert min(p.fronts[name].connections) > 0, (name, p.fronts[name].connections)


async def test_a_billing_run_shared_by_two_replicas_survives_one_killed_in_the_middle_R_B11(replicated: Platform):
    p = replicated
    await load_billing(p.databases["billing"].url.replace("postgresql+asyncpg://", "postgresql://"), 2000)
    first = next_month_first(warsaw_today())
    period = period_of(first)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    due = await _scalar(p, f"SELECT count(*) FROM billing_account WHERE contract_status = 'active' "
                           f"AND starts_on <= '{last.isoformat()}' AND ends_on >= '{first.isoformat()}'")
    admin = p.client("billing", "admin")
    # as of now: the next month's window has not opened, so each charge is scheduled, not sent (R-B4)
    started = await admin.post("/v1/billing-runs", json={"period": period,
                                                         "as_of": datetime.now(timezone.utc).isoformat()})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]

    async def under_way():  # type: ignore[no-untyped-def]
        record = (await admin.get(f"/v1/billing-runs/{run_id}")).json()
        return record if record["done"] > 0 else None
    before_kill = await until(under_way, "the run to be under way", timeout=30, interval=0.01)
    p["billing"].kill()
    killed_at = time.monotonic()
    assert before_kill["done"] < before_kill["total"], "the run finished before a replica could be killed"

    async def finished():  # type: ignore[no-untyped-def]
        record = (await admin.get(f"/v1/billing-runs/{run_id}")).json()
        return record if record["status"] == "finished" else None
    record = await until(finished, "the surviving replica to finish the run", timeout=120, interval=0.2)
    p.timings.add("  replicas: SIGKILL of one billing replica mid-run → run finished", time.monotonic() - killed_at)
    await p["billing"].restart()

    assert (record["invoiced"], record["failed"], record["done"]) == (due, 0, record["total"])
    assert await _scalar(p, f"SELECT count(*) FROM invoice WHERE period = '{period}' AND purpose = 'period'") == due
    assert await _scalar(p, "SELECT count(*) FROM (SELECT contract_id, period FROM invoice WHERE purpose = 'period' "
                            "GROUP BY contract_id, period HAVING count(*) > 1) twice") == 0
    # R-B9: every number of each month's series taken once, none skipped
    for series, month, last_number in await _rows(p, "SELECT series, month, last FROM invoice_counter"):
        prefix = f"{series}/{month.replace('-', '/')}/"
        numbers = sorted(int(n[len(prefix):]) for (n,) in await _rows(
            p, f"SELECT number FROM invoice WHERE number LIKE '{prefix}%'"))
        assert numbers == list(range(1, last_number + 1)), prefix
    assert await _scalar(p, f"SELECT count(*) = count(DISTINCT c.invoice_id) AND count(*) = {due} FROM charge c "
                            f"JOIN invoice i ON i.id = c.invoice_id WHERE i.period = '{period}' "
                            "AND i.purpose = 'period'") is True
