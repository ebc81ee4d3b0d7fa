"""The month-end at volume: the billing run over N contracts with one worker and with two.

    python -m bench.scale [--sizes 1000,10000,100000] [--chunk 500]      (make bench-scale)

For each N: a throw-away PostgreSQL billing database, migrated, N contracts loaded with COPY
(`supportctl volume billing`: mixed plans, 10 % suspended, some pending overage); then the
December run is started (`BillingRuns.start`, the code behind `POST /v1/billing-runs`) and
drained by 1 and then 2 worker processes (`bench/scale_worker.py`, each a `RunWorker` as in every
billing replica), the billing tables emptied between the two. Timed from the workers' go to the
run's `finished`; each worker reports its peak RSS. Then nine in ten invoices are marked paid and
the dunning run (`DunningRun`, behind `POST /v1/dunning-runs`) flags the rest, timed. Prints a
table beside the targets and writes bench/results/scale.json. A measurement, not a test: the exit
status does not depend on the figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import common
from bench.common import RESULTS, REPO_ROOT, say

MIGRATIONS = REPO_ROOT / "services" / "billing" / "migrations"
AS_OF = datetime(2026, 11, 30, 11, tzinfo=timezone.utc)  # inside December's charge window (R-B4)
DUNNING_AS_OF = datetime(2026, 12, 11, 9, tzinfo=timezone.utc)  # ten days after the invoices' due date
PERIOD = "2026-12"
TARGETS = {"contracts_per_s_100k_1w": 3333.0, "growth_10x": 11.0, "two_workers_speedup": 1.6, "rss_growth": 1.3}
EMPTIED = ("invoice_line", "payment", "charge", "invoice", "invoice_counter", "outbox", "billing_run_failure",
           "billing_run_chunk", "billing_run")


def _settings_env(url: str, keys: tuple[Path, Path], chunk: int) -> dict[str, str]:
    private, jwks = keys
    return {**os.environ, "BILLING_DATABASE_URL": url, "BILLING_JWKS_FILE": str(jwks),
            "BILLING_SIGNING_KEY_FILE": str(private), "BILLING_EVENT_SINKS": "{}",
            "BILLING_RELAY_ENABLED": "false", "BILLING_BILLING_RUN_CHUNK_SIZE": str(chunk)}


async def _start_run(env: dict[str, str]) -> str:
    from services.billing.main import create_app  # noqa: F401 - registers the models
    from services.billing.service.runs import BillingRuns
    from services.billing.settings import BillingSettings
    from shared.runtime import Runtime

    os.environ.update(env)  # the same settings as the workers'
    settings = BillingSettings()
    runtime = Runtime(settings)
    try:
        return (await BillingRuns(runtime, settings).start(PERIOD, AS_OF, requested_by="bench")).id
    finally:
        await runtime.db.dispose()


def _drain(bench: common.Bench, env: dict[str, str], workers: int, db: common.BenchDatabase) -> dict[str, Any]:
    run_id = bench.run(_start_run(env))
    procs = [subprocess.Popen([sys.executable, "-m", "bench.scale_worker"], env=env, cwd=REPO_ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    for proc in procs:  # each imports the billing service, then says it is ready
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.time()  # the workers say when they drained on the same wall clock
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = [json.loads(proc.communicate(timeout=3600)[0].strip().splitlines()[-1]) for proc in procs]
    seconds = max(r["drained_at"] for r in reports) - started  # the last worker found nothing left
    figures = bench.run(db.fetchvals({
        "status": f"SELECT status FROM billing_run WHERE id = '{run_id}'",
        "invoiced": f"SELECT sum((figures->>'invoiced')::int) FROM billing_run_chunk WHERE run_id = '{run_id}'",
        "looked_at": f"SELECT sum((figures->>'contracts')::int) FROM billing_run_chunk WHERE run_id = '{run_id}'",
        "invoices": "SELECT count(*) FROM invoice",
        "numbers_gap_free": "SELECT max(last) = (SELECT count(*) FROM invoice) FROM invoice_counter",
    }))
    return {"seconds": seconds, "chunks_by_worker": [r["chunks"] for r in reports],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in reports), **figures}


async def _dunning(env: dict[str, str], db: common.BenchDatabase) -> dict[str, Any]:
    """Nine in ten of the period's invoices paid, then the dunning run ten days after their due
    date: the rest are flagged overdue and terminable (R-B5, R-B6), in chunks."""
    from services.billing.service.dunning import DunningRun
    from services.billing.settings import BillingSettings
    from shared.runtime import Runtime

    async with common.connected(db.dsn) as conn:
        await conn.execute("UPDATE invoice SET status = 'paid', amount_paid = gross_total WHERE hashtext(id) % 10 <> 0")
    os.environ.update(env)
    settings = BillingSettings()
    runtime = Runtime(settings)
    try:
        started = time.perf_counter()
        result = await DunningRun(runtime, settings).run(DUNNING_AS_OF)
        return {"dunning_seconds": time.perf_counter() - started, "dunning_overdue": len(result.overdue)}
    finally:
        await runtime.db.dispose()


def _empty(bench: common.Bench, db: common.BenchDatabase) -> None:
    async def run() -> None:
        async with common.connected(db.dsn) as conn:
            await conn.execute(f"TRUNCATE {', '.join(EMPTIED)}; UPDATE pending_usage SET invoice_id = NULL")
    bench.run(run())


def _run(args: argparse.Namespace, bench: common.Bench) -> int:
    from services.cli.volume.billing import load_billing
    from shared.devkeys import ensure_dev_keys

    keys = ensure_dev_keys(bench.temp_dir("scale-keys-"))
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        db = bench.database("bench_scale_billing", MIGRATIONS)
        loaded_at = time.perf_counter()
        bench.run(load_billing(db.dsn, n))
        say(f"{n} contracts loaded in {time.perf_counter() - loaded_at:.1f} s")
        env = _settings_env(db.url, keys, args.chunk)
        for workers in (1, 2):
            if workers == 2:
                _empty(bench, db)
            result = _drain(bench, env, workers, db)
            rate = (result["looked_at"] or 0) / result["seconds"]
            if workers == 2:
                result.update(bench.run(_dunning(env, db)))
            rows.append({"contracts": n, "workers": workers, "contracts_per_s": rate, **result})
            say(f"N={n} workers={workers}: {result['seconds']:.2f} s, {rate:.0f} contracts/s, "
                f"{result['invoices']} invoices, peak RSS {result['peak_rss_mb']:.0f} MB")
    _report(rows, args)
    return 0


def _report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    def row(n: int, w: int) -> dict[str, Any] | None:
        return next((r for r in rows if r["contracts"] == n and r["workers"] == w), None)

    print("\nBilling run (PostgreSQL, chunk %d)" % args.chunk)
    print(f"{'contracts':>10} {'workers':>7} {'seconds':>8} {'contracts/s':>12} {'×time vs N/10':>14} "
          f"{'2w speed-up':>12} {'peak RSS MB':>12} {'gap-free':>9} {'dunning s (flagged)':>20}")
    for r in rows:
        smaller = row(r["contracts"] // 10, r["workers"])
        growth = f"{r['seconds'] / smaller['seconds']:.1f}" if smaller else "-"
        one = row(r["contracts"], 1)
        speedup = f"{one['seconds'] / r['seconds']:.2f}" if r["workers"] == 2 and one else "-"
        dunning = f"{r['dunning_seconds']:.2f} ({r['dunning_overdue']})" if "dunning_seconds" in r else "-"
        print(f"{r['contracts']:>10} {r['workers']:>7} {r['seconds']:>8.2f} {r['contracts_per_s']:>12.0f} "
              f"{growth:>14} {speedup:>12} {r['peak_rss_mb']:>12.0f} {str(r['numbers_gap_free']):>9} {dunning:>20}")
    largest, smallest = max(args.sizes), min(args.sizes)
    big, small = row(largest, 1), row(smallest, 1)
    checks = []
    if big and largest >= 100_000:
        checks.append(("100k contracts, 1 worker ≥ 3,333 contracts/s (≤ 30 s)", big["contracts_per_s"],
                       big["contracts_per_s"] >= TARGETS["contracts_per_s_100k_1w"]))
    for r in rows:
        smaller = row(r["contracts"] // 10, r["workers"])
        if smaller and r["workers"] == 1:
            g = r["seconds"] / smaller["seconds"]
            checks.append((f"10× contracts ({r['contracts']}) ≤ 11× the time", g, g <= TARGETS["growth_10x"]))
    two = row(largest, 2)
    if big and two:
        s = big["seconds"] / two["seconds"]
        checks.append((f"two workers ≥ 1.6× one ({largest})", s, s >= TARGETS["two_workers_speedup"]))
    if big and small and largest > smallest:
        g = big["peak_rss_mb"] / small["peak_rss_mb"]
        checks.append((f"peak RSS at {largest} ≤ 1.3× at {smallest}", g, g <= TARGETS["rss_growth"]))
    print()
    for what, value, met in checks:
        print(f"  {'MET    ' if met else 'NOT MET'}  {what}: {value:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(RESULTS / "scale.json")
    out.write_text(json.dumps({"commit": common.commit(), "chunk": args.chunk, "rows": rows,
                               "checks": [{"what": w, "value": v, "met": m} for w, v, m in checks]}, indent=2))
    print(f"\nwrote {out}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1_000, 10_000, 100_000])
    p.add_argument("--chunk", type=int, default=500)
    args = p.parse_args(argv)
    return common.main_guard(lambda bench: _run(args, bench))


if __name__ == "__main__":
    sys.exit(main())
