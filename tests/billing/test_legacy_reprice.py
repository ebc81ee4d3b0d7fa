"""Contracts upgraded before billing kept a price schedule: the migration marks them, and the
repair rebuilds their schedule from entitlements' history and credits a month billed twice
(R-B7, R-B10). Over real HTTP: the repair asks the running entitlements service."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from services.billing.models import BillingAccount, PlanPrice
from services.billing.service.repricing import reprice_legacy_accounts
from services.registry import get as service_spec
from shared.ids import new_id
from shared.migrations import upgrade as migrate
from tests.billing.conftest import CARD_OK
from tests.billing.upgrade_steps import applied, run, upgrade, wait_for_billing
from tests.support.databases import PostgresDatabase
from tests.tickets.conftest import at


async def _as_before_the_schedule(bw: Any, contract_id: str) -> None:
    """The account as the migration leaves one whose upgrade had switched: one price row at
    today's (the new) price from the start, marked legacy, as the old code kept it."""
    engine = create_async_engine(bw.settings.database_url)
    try:
        async with engine.begin() as conn:
            account = (await conn.execute(select(BillingAccount.__table__).where(
                BillingAccount.contract_id == contract_id))).one()
            await conn.execute(delete(PlanPrice.__table__).where(PlanPrice.contract_id == contract_id))
            await conn.execute(insert(PlanPrice.__table__).values(
                id=new_id("prc"), contract_id=contract_id, seq=0, plan_id=account.plan_id, plan_name=account.plan_name,
                price_net=account.price_net, effective_from=account.starts_on, state="applied",
                created_at=bw.clock.now(), applied_at=bw.clock.now()))
            await conn.execute(update(BillingAccount.__table__).where(BillingAccount.contract_id == contract_id)
                               .values(legacy_prices=True))
    finally:
        await engine.dispose()


async def test_a_month_billed_twice_before_the_schedule_is_credited_by_the_repair_R_B7_R_B10(bw):
    bw.clock.set(at("2026-12-03 10:00"))
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    bw.clock.set(at("2027-01-05 10:00"))
    await upgrade(bw, contract["id"], "o365-advanced")
    await wait_for_billing(bw, {contract["id"]}, applied("o365-advanced"), "to price the upgrade")
    await _as_before_the_schedule(bw, contract["id"])
    bw.clock.set(at("2027-01-07 12:00"))
    await run(bw, "2027-01", bw.clock.now())
    january = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "period", "January's invoice")
    assert january["net_total"] == "299.00"  # the old behaviour: the supplement's days paid twice
    runtime = bw.billing_app.state.runtime

    dry = await reprice_legacy_accounts(runtime, bw.settings, apply=False)
    assert [(r.contract_id, [(n[:3], p, net) for n, p, net in r.issued]) for r in dry] == [
        (contract["id"], [("KOR", "correction", Decimal("-200.00"))])]
    assert not [i for i in await bw.invoices(contract["id"]) if i["kind"] == "correction"]  # nothing kept

    done = await reprice_legacy_accounts(runtime, bw.settings, apply=True)
    assert done[0].schedule == [("o365-standard", Decimal("99.00"), date(2026, 12, 3)),
                                ("o365-advanced", Decimal("299.00"), date(2027, 1, 5))]
    note = await bw.invoice_where(contract["id"], lambda i: i["kind"] == "correction", "the credit note")
    assert (note["corrects_id"], note["net_total"], note["period"]) == (january["id"], "-200.00", "2027-01")
    account = (await bw.billing().get(f"/v1/accounts/{contract['id']}")).json()
    assert [(r["plan_id"], r["effective_from"]) for r in account["price_schedule"]] == [
        ("o365-standard", "2026-12-03"), ("o365-advanced", "2027-01-05")]
    assert await reprice_legacy_accounts(runtime, bw.settings, apply=True) == []  # once

    bw.clock.set(at("2027-01-31 12:00"))
    await run(bw, "2027-02", bw.clock.now())
    february = await bw.invoice_where(contract["id"], lambda i: i["period"] == "2027-02", "February's invoice")
    assert february["net_total"] == "299.00"


MIGRATIONS = service_spec("billing").migrations


async def _database_at(backend: str, tmp_path: Path, revision: str) -> tuple[str, Any]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
        await asyncio.to_thread(migrate, MIGRATIONS, url, revision)
        return url, None
    database = PostgresDatabase("billing")
    await database.create(MIGRATIONS, revision)
    return database.url, database


async def test_the_migration_gives_every_account_its_schedule_and_marks_switched_upgrades(backend, stores, tmp_path):
    """`stores` makes the PostgreSQL variant fail (CI) or skip when there is no server."""
    url, database = await _database_at(backend, tmp_path, "0002")
    engine = create_async_engine(url)
    account = ("INSERT INTO billing_account (contract_id, customer_id, product_id, plan_id, plan_name, price_net, "
               "pending_price, contract_status, starts_on, ends_on, buyer, payment_method, standing, created_at, "
               "updated_at) VALUES (:c, 'cust', 'office365-support', :plan, :name, :price, "
               "CAST(:pending AS {json}), 'active', '2026-11-21', '2027-11-20', '{}', 'card', 'good', "
               "'2026-11-21 10:00:00', '2026-11-21 10:00:00')")
    supplement = ("INSERT INTO invoice (id, number, kind, purpose, contract_id, customer_id, period, issue_date, "
                  "supply_date, period_start, period_end, due_date, seller, buyer, payment_method, net_total, "
                  "vat_total, gross_total, per_rate, amount_paid, status, created_at) VALUES (:id, :id, 'invoice', "
                  "'upgrade', :c, 'cust', '2026-12', '2026-12-10', '2026-12-10', '2026-12-10', '2026-12-31', "
                  "'2026-12-17', '{}', '{}', 'card', 14194, 3265, 17459, '[]', 0, 'open', CAST(:at AS {stamp}))")
    json, stamp = ("jsonb", "timestamptz") if backend == "postgres" else ("TEXT", "TEXT")
    account, supplement = account.replace("{json}", json), supplement.replace("{stamp}", stamp)
    try:
        async with engine.begin() as conn:
            pending = '{"plan_id": "o365-advanced", "price_net": "299.00", "plan_name": "Advanced"}'
            for cid, plan, name, price, waiting in (("ctr_plain", "o365-standard", "Standard", 9900, None),
                                                     ("ctr_waiting", "o365-standard", "Standard", 9900, pending),
                                                     ("ctr_switched", "o365-advanced", "Advanced", 29900, None)):
                await conn.execute(text(account).bindparams(c=cid, plan=plan, name=name, price=price,
                                                            pending=waiting))
            await conn.execute(text(supplement).bindparams(id="inv_waiting", c="ctr_waiting",
                                                           at="2026-12-10 10:00:00"))
            await conn.execute(text(supplement).bindparams(id="inv_switched", c="ctr_switched",
                                                           at="2026-12-10 10:00:00"))
        await asyncio.to_thread(migrate, MIGRATIONS, url, "head")
        async with engine.connect() as conn:
            ordered = select(PlanPrice.__table__).order_by(PlanPrice.contract_id, PlanPrice.seq)
            rows = (await conn.execute(ordered)).all()
            legacy = dict((await conn.execute(select(BillingAccount.contract_id, BillingAccount.legacy_prices))).all())
    finally:
        await engine.dispose()
        if database is not None:
            await database.drop()
    found = [(r.contract_id, r.plan_id, r.price_net, str(r.effective_from), r.state, r.invoice_id) for r in rows]
    assert found == [
        ("ctr_plain", "o365-standard", Decimal("99.00"), "2026-11-21", "applied", None),
        ("ctr_switched", "o365-advanced", Decimal("299.00"), "2026-11-21", "applied", None),
        ("ctr_waiting", "o365-standard", Decimal("99.00"), "2026-11-21", "applied", None),
        ("ctr_waiting", "o365-advanced", Decimal("299.00"), "2026-12-10", "pending", "inv_waiting")]
    assert legacy == {"ctr_plain": False, "ctr_waiting": False, "ctr_switched": True}
