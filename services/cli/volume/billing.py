"""`supportctl volume billing`: a large reseller's billing data loaded fast (PostgreSQL COPY), for
the scale bench (bench/scale.py) and for trying the month-end run at volume.

Shaped like real data: contracts on the Office 365 plans in the mix a reseller sees (60 % Standard,
30 % Advanced, 10 % Free with a zero fee), 10 % suspended, terms starting over the past year, card
and direct-debit payers, each with its price schedule row, and one in twenty with pending overage
(R-B8) waiting for the next invoice. Contract ids are time-ordered like the platform's own, so the
billing run's chunks are ranges of them. Loads into a migrated billing database; nothing else is
touched.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

import typer

from services.cli.volume.app import asyncpg_dsn, copy_batches, volume_app

PLANS = (("o365-standard", "Office 365 — Standard", 9900, 60), ("o365-advanced", "Office 365 — Advanced", 29900, 30),
         ("o365-free", "Office 365 — Free", 0, 10))
CARD_OK, IBAN_OK = "4242424242424242", "PL61109010140000071219812874"  # the payment sandbox's test instruments

def _contract_id(n: int) -> str:
    return f"ctr_vol{n:012d}"


def billing_rows(n: int, *, seed: int = 4242, start: int = 0, today: date = date(2026, 11, 20)
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(billing_account, plan_price, pending_usage) rows for contracts start..start+n-1, in the
    database's own representation (money in grosze, JSON as text, aware UTC instants)."""
    rng = random.Random(seed + start)
    weights = [p[3] for p in PLANS]
    now = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    accounts, prices, usage = [], [], []
    for k in range(start, start + n):
        cid = _contract_id(k)
        plan_id, plan_name, price, _ = rng.choices(PLANS, weights)[0]
        starts = today - timedelta(days=rng.randrange(0, 365))
        status = "suspended" if rng.random() < 0.10 else "active"
        method = "card" if rng.random() < 0.7 else "direct_debit"
        buyer = {"name": f"Klient {k} Sp. z o.o.", "nip": "5260250274", "street": f"ul. Prosta {k % 200 + 1}",
                 "postal_code": "00-850", "city": "Warszawa", "email": f"finance{k}@example.pl"}
        accounts.append((cid, f"cust-vol-{k}", "shop-volume", "office365-support", plan_id, plan_name, price, False,
                         status, starts, starts + timedelta(days=365) - timedelta(days=1), json.dumps(buyer), method,
                         CARD_OK if method == "card" else IBAN_OK, "good", None, None,
                         now, now))
        prices.append((f"prc_vol{k:012d}", cid, 0, plan_id, plan_name, price, starts, "applied", None, None, now, now))
        if rng.random() < 0.05:
            usage.append((f"use_vol{k:012d}", f"evt-vol-{k}", cid, "remote_minutes", "minute", rng.randrange(100, 6000),
                          250, now - timedelta(days=rng.randrange(1, 20)), None, now))
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
    return await copy_batches(dsn, contracts, {"billing_account": ACCOUNT_COLUMNS, "plan_price": PRICE_COLUMNS,
                                               "pending_usage": USAGE_COLUMNS},
                              lambda start, n: billing_rows(n, seed=seed, start=start))


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
