"""Two billing workers share one run over volume data (R-B9, R-B11): the data loaded with COPY
(`supportctl volume billing`), the run started as `POST /v1/billing-runs` starts it, and two
workers with their own database pools take its chunks at once (`FOR UPDATE SKIP LOCKED`). Every
effect exactly once: one invoice per active contract in its term, consecutive numbers from 1, one
charge and one `invoice.issued` event per invoice, each overage billed once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from sqlalchemy import text

from services.billing.main import create_app  # noqa: F401 - models registered
from services.billing.models import metadata as billing_metadata
from services.billing.service.run_worker import RunWorker
from services.billing.service.runs import BillingRuns
from services.billing.settings import BillingSettings
from services.cli.volume.billing import load_billing
from shared.clock import FixedClock
from shared.runtime import Runtime

AS_OF = datetime(2026, 11, 30, 11, tzinfo=timezone.utc)  # inside December's charge window (R-B4)


async def test_R_B11_two_workers_share_a_run_and_every_effect_happens_once(stores, keys, postgres_only):
    url = await stores.fresh_url("billing", billing_metadata)
    await load_billing(url.replace("postgresql+asyncpg://", "postgresql://"), 600)
    private, jwks = keys
    settings = BillingSettings(environment="test", database_url=url, jwks_file=jwks, signing_key_file=private,
                               event_sinks={}, billing_run_chunk_size=40)
    clock = FixedClock(AS_OF)  # invoices issued on 30 November: numbers FV/2026/11/…
    one, two = Runtime(settings, clock=clock), Runtime(settings, clock=clock)
    try:
        run = await BillingRuns(one, settings).start("2026-12", AS_OF)
        took = await asyncio.gather(RunWorker(one, settings, name="one").drain(),
                                    RunWorker(two, settings, name="two").drain())
        report = await BillingRuns(one, settings).report(run.id)
        async with one.db.session() as session:
            async def value(sql: str) -> object:
                return (await session.execute(text(sql))).scalar_one()
            due = await value("SELECT count(*) FROM billing_account WHERE contract_status = 'active' "
                              "AND starts_on <= '2026-12-31' AND ends_on >= '2026-12-01'")
            invoices = await value("SELECT count(*) FROM invoice WHERE period = '2026-12'")
            doubled = await value("SELECT count(*) FROM (SELECT contract_id FROM invoice GROUP BY contract_id "
                                  "HAVING count(*) > 1) d")
            numbers = (await session.execute(text("SELECT number FROM invoice ORDER BY number"))).scalars().all()
            charges = await value("SELECT count(DISTINCT invoice_id) FROM charge")
            all_charges = await value("SELECT count(*) FROM charge")
            issued = await value("SELECT count(DISTINCT event_id) FROM outbox WHERE event_type = 'invoice.issued'")
            overage_lines = await value("SELECT count(*) FROM invoice_line WHERE kind = 'overage'")
            billed_usage = await value("SELECT count(*) FROM pending_usage u JOIN billing_account a "
                                       "ON a.contract_id = u.contract_id WHERE u.invoice_id IS NOT NULL")
    finally:
        await one.db.dispose()
        await two.db.dispose()
    assert report.finished and report.figures.failed == 0 and report.chunks_retaken == 0
    assert sum(took) == run.chunks > 10 and min(took) > 0  # both workers took chunks
    assert due > 400 and invoices == due == report.figures.invoiced and doubled == 0
    assert numbers == [f"FV/2026/11/{n:06d}" for n in range(1, invoices + 1)]  # R-B9: gap-free across chunks
    assert charges == all_charges == invoices and issued == invoices
    assert overage_lines == billed_usage > 0
