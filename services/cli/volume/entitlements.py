"""`supportctl volume entitlements`: a large reseller's entitlements data loaded fast (PostgreSQL
COPY), for the scale bench (bench/entitlements_scale.py) and for trying the hot paths at volume.

The same contracts as `volume billing` for the same seed (the draw is contracts.py): each
customer `cust-vol-N` holds one Office 365 licence bought with its support contract `ctr_volN`
as an add-on (R-E2), on the plan drawn (Standard, Advanced, or the Free plan at a zero fee), for
12 months, active or suspended (R-E4: a suspended one gets the free plan's benefits), with its
audit trail (created, activated, and suspended where it is). Contracts point at the newest
version of their plan in the database's catalogue, which must be loaded first (`supportctl
catalogue load`). No contract has ended yet, so there are no data dispositions (R-E9).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta, timezone
from typing import Optional

import typer

from services.cli.volume.app import TableRows, asyncpg_dsn, connect, copy_in_batches, volume_app
from services.cli.volume.contracts import PLANS, draw

PRODUCT = "office365-support"
SELLER = {"name": "Support Desk", "email": "support@example.com", "phone": None}  # EntitlementsSettings' default

LICENCE_COLUMNS = ("id", "customer_id", "product", "reference", "order_ref", "registered_at")
CONTRACT_COLUMNS = ("id", "customer_id", "licence_id", "product_id", "plan_id", "plan_version", "status", "mode",
                    "term_months", "starts_on", "ends_on", "payment_method", "billing", "representatives",
                    "order_ref", "created_at", "activated_at")
HISTORY_COLUMNS = ("contract_id", "at", "action", "from_status", "to_status", "actor", "reason", "data")


class CatalogueMissing(RuntimeError):
    """The plans the volume contracts are on are not in the database's catalogue."""


async def plan_versions(dsn: str) -> tuple[str, dict[str, int]]:
    """The licence product of the Office 365 support product and the newest version of each plan
    the draw uses."""
    conn = await connect(dsn)
    try:
        licence_product = await conn.fetchval("SELECT licence_product FROM product WHERE id = $1", PRODUCT)
        rows = await conn.fetch("SELECT plan_id, max(version) FROM plan_version WHERE product_id = $1 "
                                "AND plan_id = ANY($2::text[]) GROUP BY plan_id", PRODUCT, [p[0] for p in PLANS])
    finally:
        await conn.close()
    versions = {row[0]: row[1] for row in rows}
    missing = [p[0] for p in PLANS if p[0] not in versions]
    if licence_product is None or missing:
        raise CatalogueMissing(f"the catalogue has no {PRODUCT} or not its plans {', '.join(missing)}; load it "
                               "first (supportctl catalogue load services/entitlements/data/catalogue.yaml)")
    return licence_product, versions


def entitlements_rows(n: int, *, licence_product: str, versions: dict[str, int], seed: int = 4242, start: int = 0
                      ) -> list[TableRows]:
    """(licence, contract, contract_history) rows for contracts start..start+n-1, in the
    database's own representation (JSON as text, aware UTC instants)."""
    licences, contracts, history = [], [], []
    for c in draw(n, seed=seed, start=start):
        k, cid = c.n, c.contract_id
        lid, order = f"lic_vol{k:012d}", f"ord-vol-{k}"
        bought = datetime.combine(c.starts_on, time(8), tzinfo=timezone.utc)
        paid = bought + timedelta(minutes=5)
        buyer = c.buyer()
        billing = {**buyer, "address": f"{buyer['street']}, {buyer['postal_code']} {buyer['city']}", "country": "PL",
                   "payment_instrument": c.payment_instrument}
        customer = {"name": buyer["name"], "email": buyer["email"], "phone": None}
        licences.append((lid, c.customer_id, licence_product, f"tenant-vol-{k}.onmicrosoft.com", order, bought))
        contracts.append((cid, c.customer_id, lid, PRODUCT, c.plan_id, versions[c.plan_id], c.status, "addon", 12,
                          c.starts_on, c.ends_on, c.payment_method, json.dumps(billing),
                          json.dumps({"customer": customer, "seller": SELLER}), order, bought, paid))
        history.append((cid, bought, "created", None, "pending_payment", "shop-volume", None,
                        json.dumps({"mode": "addon", "plan_version": versions[c.plan_id]})))
        history.append((cid, paid, "activate", "pending_payment", "active", "billing-volume", None, "{}"))
        if c.suspended:  # R-E4: a payment missed after the first month
            history.append((cid, paid + timedelta(days=35), "suspend", "active", "suspended", "billing-volume",
                            "payment overdue", "{}"))
    return [("licence", LICENCE_COLUMNS, licences), ("contract", CONTRACT_COLUMNS, contracts),
            ("contract_history", HISTORY_COLUMNS, history)]


async def load_entitlements(dsn: str, contracts: int, *, seed: int = 4242) -> dict[str, int]:
    """COPY `contracts` licences with their contracts and audit trails into the entitlements
    database, whose catalogue is loaded."""
    licence_product, versions = await plan_versions(dsn)
    return await copy_in_batches(dsn, contracts, lambda start, n: entitlements_rows(
        n, licence_product=licence_product, versions=versions, seed=seed, start=start))


@volume_app.command("entitlements")
def volume_entitlements(contracts: int = typer.Option(10_000, min=1, max=2_000_000, help="How many contracts."),
                        database_url: Optional[str] = typer.Option(
                            None, "--database-url",
                            help="The entitlements database (PostgreSQL; default ENTITLEMENTS_DATABASE_URL)."),
                        seed: int = typer.Option(4242, help="The random seed (the same data for the same seed).")
                        ) -> None:
    """Load CONTRACTS licences with their support contracts and audit trails (COPY); the same
    contracts as `volume billing` for the same seed."""
    from services.entitlements.settings import EntitlementsSettings

    url = database_url or EntitlementsSettings().database_url
    try:
        counts = asyncio.run(load_entitlements(asyncpg_dsn(url), contracts, seed=seed))
    except CatalogueMissing as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(", ".join(f"{n} {table}" for table, n in counts.items()))
