"""The entitlements hot paths at volume: how their latency grows from 1k to 100k contracts.

    python -m bench.entitlements_scale [--sizes 1000,10000,100000] [--samples 500] [--chunk 500]
    python -m bench.entitlements_scale --sizes 1000,10000,100000,1000000      (+ 1M contracts)

For each N: a throw-away PostgreSQL entitlements database, migrated, the demo catalogue loaded
(`supportctl catalogue load`), N contracts loaded with COPY (`supportctl volume entitlements`:
the billing volume's contracts, 10 % suspended). Then, in process and through the service's
own code on its own pools, each hot read path is called for `--samples` random customers, every
call timed: the entitlement check (`EntitlementChecker.check`, behind `GET …/entitlements/check`),
the full entitlement view (`GET /v1/customers/{id}/entitlements`), a customer's contract listing
(`GET /v1/contracts?customer_id=…`), and one chunk claim of the expiry run (`POST
/v1/contracts/expire-run`: terms ended, then scheduled terminations, rolled back). Every
statement each path sends is EXPLAINed: a sequential scan of a table that grows with the
contracts is flagged, and so is a sort in the paged scans (listing, expiry), which must read
their index range in index order. Prints p50/p99 per size and the growth
factor smallest → largest size; writes bench/results/entitlements_scale.json. A measurement,
not a test: the exit status does not depend on the figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Awaitable, Callable

from bench import common
from bench.common import RESULTS, say

PRODUCT, FEATURE, LICENCE_PRODUCT = "office365-support", "remote_diagnostics", "office365"
AT = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)  # the volume data's "now"
# half the terms have ended by then, so every size has a full chunk to claim
EXPIRY_AS_OF = AT.date() + timedelta(days=183)
GROWING = {"licence", "contract", "contract_history", "data_disposition", "usage_record"}
TARGET_GROWTH = 2.0  # p50 at the largest size ≤ 2× the smallest: index lookups, not scans
PATHS = ("check", "entitlements", "listing", "expiry_ended", "expiry_scheduled")
LABELS = {"check": "entitlement check", "entitlements": "entitlement view", "listing": "contract listing",
          "expiry_ended": "expiry chunk: terms ended", "expiry_scheduled": "expiry chunk: scheduled"}


def read_uow(runtime: Any) -> Any:
    """What a GET gets (shared/web/uow.py's dependency: on PostgreSQL an autocommit connection, no
    BEGIN), for a request to this runtime's app."""
    from shared.web.uow import read_only_unit_of_work

    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(runtime=runtime)))
    return asynccontextmanager(read_only_unit_of_work)(request)  # type: ignore[arg-type]


def hot_paths(runtime: Any, chunk: int) -> dict[str, Callable[[str], Awaitable[Any]]]:
    from services.entitlements import repository as repo
    from services.entitlements.service.catalogue_cache import CatalogueCache
    from services.entitlements.service.check import EntitlementChecker
    from services.entitlements.service.contracts import ContractService
    from services.entitlements.service.entitlements import EntitlementService

    cache = CatalogueCache()
    checker = EntitlementChecker(runtime.db, cache)

    async def check(customer: str) -> Any:
        return await checker.check(AT, customer, PRODUCT, FEATURE)

    async def entitlements(customer: str) -> Any:
        async with read_uow(runtime) as uow:
            return await EntitlementService(uow, cache).for_customer(customer, at=AT)

    async def listing(customer: str) -> Any:
        async with read_uow(runtime) as uow:
            return await ContractService(uow, runtime.settings).list_with_licences(
                customer_id=customer, status=None, after=None, limit=50)

    def expiry(scheduled: bool) -> Callable[[str], Awaitable[Any]]:
        async def claim(_customer: str) -> Any:
            async with runtime.work() as uow:  # rolled back: the chunk stays for the next sample
                return await repo.contracts_due_to_end(uow.session, EXPIRY_AS_OF, scheduled=scheduled, limit=chunk)
        return claim

    return {"check": check, "entitlements": entitlements, "listing": listing,
            "expiry_ended": expiry(False), "expiry_scheduled": expiry(True)}


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out.extend(_nodes(child))
    return out


async def explain(dsn: str, statements: list[tuple[str, tuple[Any, ...]]], *, sorted_ok: bool) -> dict[str, Any]:
    """The scans of each statement's plan and whether they are index ranges."""
    scans, problems = [], []
    async with common.connected(dsn) as conn:
        for sql, params in statements:
            plan = json.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *params))[0]["Plan"]
            for node in _nodes(plan):
                kind, table = node["Node Type"], node.get("Relation Name")
                if table:
                    scans.append(f"{kind} {table}" + (f" ({node['Index Name']})" if "Index Name" in node else ""))
                if kind == "Seq Scan" and table in GROWING:
                    problems.append(f"seq scan of {table}")
                if kind in ("Sort", "Incremental Sort") and not sorted_ok:
                    problems.append("sort (not in index order)")
    return {"scans": sorted(set(scans)), "problems": sorted(set(problems)), "index_only": not problems}


async def measure(db: Any, n: int, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import event

    from services.entitlements import repository as repo
    from services.entitlements.settings import EntitlementsSettings
    from shared.runtime import Runtime

    runtime = Runtime(EntitlementsSettings())
    rng = random.Random(n)
    out: dict[str, Any] = {}
    try:
        paths = hot_paths(runtime, args.chunk)
        for name, call in paths.items():
            # the statements it sends, EXPLAINed (the check's goes through the raw read pool)
            seen: list[tuple[str, tuple[Any, ...]]] = []

            def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
                if any(f" {t}" in statement for t in GROWING):
                    seen.append((statement, tuple(parameters)))

            customer = f"cust-vol-{rng.randrange(n)}"
            event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", record)
            try:
                answer = await call(customer)
            finally:
                event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", record)
            if name == "check":
                assert answer["contract_id"] is not None, answer
                seen = [(repo._CHECK_SQL, ([customer], LICENCE_PRODUCT, PRODUCT))]
            plans = await explain(db.dsn, seen, sorted_ok=name in ("check", "entitlements"))
            for _ in range(min(50, args.samples)):  # warm-up: pools, caches, prepared statements
                await call(f"cust-vol-{rng.randrange(n)}")
            times = []
            for _ in range(args.samples):
                customer = f"cust-vol-{rng.randrange(n)}"
                started = time.perf_counter()
                await call(customer)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            out[name] = {"p50_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99) - 1],
                         "rows": len(answer) if isinstance(answer, (list, tuple)) else 1, **plans}
            say(f"N={n} {name}: p50 {out[name]['p50_ms']:.2f} ms, p99 {out[name]['p99_ms']:.2f} ms, "
                f"{'index' if plans['index_only'] else ', '.join(plans['problems'])}")
    finally:
        await runtime.db.dispose()
    return out


def _run(args: argparse.Namespace, bench: common.Bench) -> int:
    from services import registry
    from services.cli.volume.entitlements import load_entitlements
    from shared.devkeys import ensure_dev_keys

    tmp = bench.temp_dir("bench-ent-scale-")
    private_key, jwks = ensure_dev_keys(tmp / "keys")
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        db = bench.database("bench_ent_scale", registry.get("entitlements").migrations)
        os.environ.update(common.entitlements_env(tmp, db.url, private_key, jwks))
        common.load_catalogue(dict(os.environ))
        started = time.perf_counter()
        counts = bench.run(load_entitlements(db.dsn, n))
        load_s = time.perf_counter() - started
        say(f"{n} contracts loaded in {load_s:.1f} s ({counts})")
        sizes = bench.run(db.fetchvals({"database_mb": "SELECT (pg_database_size(current_database()) / 1e6)::float8"}))
        rows.append({"contracts": n, "load_seconds": load_s, "rows": counts, **sizes,
                     "paths": bench.run(measure(db, n, args))})
    _report(rows, args)
    return 0


def _report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    small, big = rows[0], rows[-1]
    print(f"\nEntitlements hot paths at volume (PostgreSQL, {args.samples} random customers per path and size, "
          f"expiry chunk {args.chunk}, as of {EXPIRY_AS_OF})")
    print(f"{'contracts':>10} {'load s':>7} {'DB MB':>7}  " + "  ".join(f"{LABELS[p]:>27}" for p in PATHS))
    print(f"{'':>10} {'':>7} {'':>7}  " + "  ".join(f"{'p50 / p99 ms':>27}" for _ in PATHS))
    for r in rows:
        cells = [f"{r['paths'][p]['p50_ms']:.2f} / {r['paths'][p]['p99_ms']:.2f}"
                 + ("" if r["paths"][p]["index_only"] else " !") for p in PATHS]
        print(f"{r['contracts']:>10} {r['load_seconds']:>7.1f} {r['database_mb']:>7.0f}  "
              + "  ".join(f"{c:>27}" for c in cells))
    checks = []
    if len(rows) > 1:
        growth = {p: big["paths"][p]["p50_ms"] / small["paths"][p]["p50_ms"] for p in PATHS}
        print(f"{'growth p50':>10} {small['contracts']}→{big['contracts']}: "
              + ", ".join(f"{LABELS[p]} ×{g:.2f}" for p, g in growth.items()))
        for p, g in growth.items():
            checks.append((f"{LABELS[p]}: p50 at {big['contracts']} ≤ {TARGET_GROWTH:g}× at {small['contracts']}",
                           g, g <= TARGET_GROWTH))
    print("\nplans at the largest size:")
    for p in PATHS:
        plan = big["paths"][p]
        print(f"  {LABELS[p]:<27} {'; '.join(plan['scans']) or '-'}"
              + ("" if plan["index_only"] else f"   !!! {', '.join(plan['problems'])}"))
        checks.append((f"{LABELS[p]}: index ranges only at {big['contracts']}", 1.0 if plan["index_only"] else 0.0,
                       plan["index_only"]))
    print()
    for what, value, met in checks:
        print(f"  {'MET    ' if met else 'NOT MET'}  {what}" + (f": {value:.2f}" if "≤" in what else ""))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(RESULTS / "entitlements_scale.json")
    out.write_text(json.dumps({"commit": common.commit(), "samples": args.samples, "chunk": args.chunk,
                               "expiry_as_of": EXPIRY_AS_OF.isoformat(), "rows": rows,
                               "checks": [{"what": w, "value": v, "met": m} for w, v, m in checks]}, indent=2))
    print(f"\nwrote {out}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.entitlements_scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1_000, 10_000, 100_000],
                   help="contracts per database, ascending (default 1000,10000,100000; add 1000000 for 1M)")
    p.add_argument("--samples", type=int, default=500, help="timed calls per path and size (default 500)")
    p.add_argument("--chunk", type=int, default=500, help="the expiry run's chunk (default 500, the service's)")
    args = p.parse_args(argv)
    if sorted(args.sizes) != args.sizes or not all(1 <= n <= 2_000_000 for n in args.sizes) or args.samples < 10:
        p.error("--sizes ascending, each 1..2000000; --samples ≥ 10")
    return common.main_guard(lambda bench: _run(args, bench))


if __name__ == "__main__":
    sys.exit(main())
