"""`supportctl volume billing`: a large reseller's billing data loaded fast (PostgreSQL COPY), for
the scale bench (bench/scale.py) and for trying the month-end run at volume.

Shaped like real data (the draw is contracts.py, shared with `volume entitlements`, so both
databases describe the same contracts): contracts on the Office 365 plans in the mix a reseller
sees (60 % Standard, 30 % Advanced, 10 % Free with a zero fee), 10 % suspended, terms starting
over the past year, card and direct-debit payers, each with its price schedule row, and one in
twenty with pending overage (R-B8) waiting for the next invoice. Contract ids are time-ordered
like the platform's own, so the billing run's chunks are ranges of them. Loads into a migrated
billing database; nothing else is touched.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from typing import Any, Optional

import typer

from services.cli.volume.app import asyncpg_dsn, copy_in_batches, volume_app
from services.cli.volume.contracts import NOW, TODAY, draw


def billing_rows(n: int, *, seed: int = 4242, start: int = 0, today: date = TODAY
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(billing_account, plan_price, pending_usage) rows for contracts start..start+n-1, in the
    database's own representation (money in grosze, JSON as text, aware UTC instants)."""
    now = NOW
    accounts, prices, usage = [], [], []
    for c in draw(n, seed=seed, start=start, today=today):
        k, cid = c.n, c.contract_id
        accounts.append((cid, c.customer_id, "shop-volume", "office365-support", c.plan_id, c.plan_name, c.price_net,
                         False, c.status, c.starts_on, c.ends_on, json.dumps(c.buyer()), c.payment_method,
                         c.payment_instrument, "good", None, None, now, now))
        prices.append((f"prc_vol{k:012d}", cid, 0, c.plan_id, c.plan_name, c.price_net, c.starts_on, "applied", None,
                       None, now, now))
        if c.overage is not None:
            minutes, days_ago = c.overage
            usage.append((f"use_vol{k:012d}", f"evt-vol-{k}", cid, "remote_minutes", "minute", minutes,
                          250, now - timedelta(days=days_ago), None, now))
    return accounts, prices, usage


ACCOUNT_COLUMNS = ("contract_id", "customer_id", "created_by", "product_id", "plan_id", "plan_name", "price_net",
                   "legacy_prices", "contract_status", "starts_on", "ends_on", "buyer", "payment_method",
                   "payment_instrument", "standing", "overdue_since", "terminable_since", "created_at", "updated_at")
PRICE_COLUMNS = ("id", "contract_id", "seq", "plan_id", "plan_name", "price_net", "effective_from", "state",
                 "origin_key", "invoice_id", "created_at", "applied_at")
USAGE_COLUMNS = ("id", "event_id", "contract_id", "metric", "unit", "quantity", "unit_price_net", "occurred_at",
                 "invoice_id", "created_at")


async def load_billing(dsn: str, contracts: int, *, seed: int = 4242) -> dict[str, int]:
    """COPY `contracts` accounts (with their schedules and some usage) into the billing database."""
    def batch(start: int, n: int) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
        accounts, prices, usage = billing_rows(n, seed=seed, start=start)
        return [("billing_account", ACCOUNT_COLUMNS, accounts), ("plan_price", PRICE_COLUMNS, prices),
                ("pending_usage", USAGE_COLUMNS, usage)]

    return await copy_in_batches(dsn, contracts, batch)


@volume_app.command("billing")
def volume_billing(contracts: int = typer.Option(10_000, min=1, max=2_000_000, help="How many contracts."),
                   database_url: Optional[str] = typer.Option(
                       None, "--database-url", help="The billing database (PostgreSQL; default BILLING_DATABASE_URL)."),
                   seed: int = typer.Option(4242, help="The random seed (the same data for the same seed).")) -> None:
    """Load CONTRACTS billing accounts with their price schedules and some pending overage (COPY)."""
    from services.billing.settings import BillingSettings

    url = database_url or BillingSettings().database_url
    counts = asyncio.run(load_billing(asyncpg_dsn(url), contracts, seed=seed))
    typer.echo(", ".join(f"{n} {table}" for table, n in counts.items()))
