"""The tickets hot paths at volume: the SLA scan, the agent queue and a customer's list over N tickets.

    python -m bench.tickets_scale [--sizes 10000,100000,1000000] [--requests 200]

For each N: a throw-away PostgreSQL tickets database, migrated, N tickets with their history
loaded with COPY (`supportctl volume tickets`: K = 10 % of them, at most 100,000, open and awaiting
a first reaction, the rest mostly closed), then the tickets app in-process (its ASGI app through
httpx, with its own pool, JWT checks and serialisation; no relay, no background scan) at the
load's instant (Fri 20 Nov 2026 13:00 Warsaw). Timed, each `--requests` times after a warm-up:

- the agent queue's first page (`GET /v1/tickets`, 50 per page, the default statuses) and a deep
  keyset page (its cursor at nine tenths of the queue);
- a customer's ticket list (`GET /v1/tickets` with every status, a customer's token, customers
  round-robin);
- an SLA scan with nothing due (the background loop's usual run);

then one full SLA scan (`services.tickets.service.monitor.scan`, the code behind
`POST /v1/sla/scan` and the background loop) as of Monday 23 Nov 10:00, when every awaiting ticket
is due (Standard and Advanced ones breach, Free ones warn). The statement each path sent is
captured and EXPLAINed: it must be an index range of the index named for it (no sequential scan;
no sort but of one customer's rows). Prints a table, the growth factors from the smallest to the
largest N and the targets (MET / NOT MET), writes bench/results/tickets_scale.json. A measurement,
not a test: the exit status does not depend on the figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import common
from bench.common import RESULTS, REPO_ROOT, say

MIGRATIONS = REPO_ROOT / "services" / "tickets" / "migrations"
FULL_SCAN_AS_OF = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Europe/Warsaw"))  # every awaiting ticket due
IN_QUEUE = ("new", "open", "awaiting_customer")
EVERY_STATUS = (*IN_QUEUE, "resolved", "closed")
PAGE = 50
WARMUP = 20
TARGETS = {"scan_100k_s": 2.0, "page_p99_ms_1m": 50.0}
# path → (the index its statement must range over, whether a Sort above it is acceptable)
INDEXES = {"queue_first": ("ix_ticket_queue_open", False), "queue_deep": ("ix_ticket_queue_open", False),
           "customer_list": ("ix_ticket_customer_id", True),  # sorts that customer's few rows
           "sla_scan": ("ix_ticket_sla_next_check", False)}


def awaiting_for(tickets: int) -> int:
    return min(tickets // 10, 100_000)


def _cursor(key: str) -> str:
    """A queue cursor as the API hands them out (api/tickets.py)."""
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode()


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def judge(plan: dict[str, Any], index: str, sort_ok: bool) -> tuple[bool, str]:
    """(an index range of `index`?, the plan's shape in one line): the table read only through
    that index (an index scan, or a bitmap of it), no sequential scan, and no sort unless allowed."""
    nodes = _nodes(plan)
    shape = " › ".join(n["Node Type"] + (f" ({n['Index Name']})" if "Index Name" in n else "") for n in nodes)
    reads = [n for n in nodes if n.get("Relation Name") == "ticket"]
    ranges = [n for n in nodes if "Index Name" in n]
    ok = (bool(ranges) and all(n["Index Name"] == index for n in ranges)
          and all(n["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan") for n in reads)
          and (sort_ok or not any(n["Node Type"] == "Sort" for n in nodes)))
    return ok, shape


class Statements:
    """The `SELECT … FROM ticket` statements the app sends (SQLAlchemy cursor events)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.seen: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.startswith("SELECT") and "\nFROM ticket \n" in statement:
            self.seen.append((statement, parameters))

    def last(self) -> tuple[str, Any]:
        return self.seen[-1]


async def _explain(dsn: str, statement: tuple[str, Any], index: str, sort_ok: bool) -> dict[str, Any]:
    async with common.connected(dsn) as conn:
        plan = json.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + statement[0], *statement[1]))[0]["Plan"]
    ok, shape = judge(plan, index, sort_ok)
    return {"index_range": ok, "plan": shape}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000}


async def _timed(get: Any, requests: int) -> dict[str, float]:
    """Latency of `get(i)` (one request; must answer 200) over `requests` runs after a warm-up."""
    samples = []
    for i in range(WARMUP + requests):
        started = time.perf_counter()
        response = await get(i)
        took = time.perf_counter() - started
        assert response.status_code == 200, response.text
        if i >= WARMUP:
            samples.append(took)
    return _percentiles(samples)


async def _measure(db: common.BenchDatabase, keys: tuple[Path, Path], n: int, requests: int) -> dict[str, Any]:
    import httpx
    from asgi_lifespan import LifespanManager

    from services.cli.volume.tickets import LOADED_AT, customer_of
    from services.tickets.main import create_app
    from services.tickets.service.monitor import scan
    from services.tickets.settings import TicketsSettings
    from shared.clock import FixedClock
    from shared.devkeys import DEV_KID, mint_token

    private, jwks = keys
    settings = TicketsSettings(environment="test", database_url=db.url, jwks_file=jwks, signing_key_file=private,
                               signing_key_id=DEV_KID, entitlements_url="http://127.0.0.1:9", event_sinks={},
                               relay_enabled=False, sla_scan_interval=0, smtp_listen_port=0,
                               mail_outbound_enabled=False)
    pem = private.read_text()

    def token(role: str, customer_id: str | None = None) -> str:
        return mint_token(pem, kid=DEV_KID, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                          subject=f"bench-{role}", role=role, customer_id=customer_id)

    clock = FixedClock(LOADED_AT)
    app = create_app(settings, clock=clock)
    runtime = app.state.runtime
    out: dict[str, Any] = {}
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        statements = Statements(runtime.db.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tickets", timeout=60) as client:
            agent = {"authorization": f"Bearer {token('agent')}"}
            in_queue = await db.fetchvals({"q": "SELECT count(*) FROM ticket WHERE status IN "
                                                "('new', 'open', 'awaiting_customer')"})
            deep = int(in_queue["q"] * 0.9)
            key = (await db.fetchvals({"k": "SELECT queue_key FROM ticket WHERE status IN ('new', 'open', "
                                             f"'awaiting_customer') ORDER BY queue_key OFFSET {deep} LIMIT 1"}))["k"]
            out["queue_size"], out["deep_offset"] = in_queue["q"], deep
            customers = max(1, n // 10)
            tokens = [{"authorization": f"Bearer {token('customer', f'cust-vol-{customer_of(c, n)}')}"}
                      for c in range(0, customers, max(1, customers // 50))]
            paths = {
                "queue_first": lambda i: client.get("/v1/tickets", params={"limit": PAGE}, headers=agent),
                "queue_deep": lambda i: client.get("/v1/tickets", params={"limit": PAGE, "cursor": _cursor(key)},
                                                   headers=agent),
                "customer_list": lambda i: client.get("/v1/tickets", params={"limit": PAGE, "status": EVERY_STATUS},
                                                      headers=tokens[i % len(tokens)]),
            }
            for name, get in paths.items():
                out[name] = await _timed(get, requests)
                out[name].update(await _explain(db.dsn, statements.last(), *INDEXES[name]))
                say(f"N={n} {name}: p50 {out[name]['p50_ms']:.1f} ms, p99 {out[name]['p99_ms']:.1f} ms, "
                    f"{out[name]['plan']}")
            idle = []
            for _ in range(20):
                started = time.perf_counter()
                assert (await scan(runtime, LOADED_AT)).checked == 0
                idle.append(time.perf_counter() - started)
            out["idle_scan_ms"] = statistics.median(idle) * 1000
        clock.set(FULL_SCAN_AS_OF)
        started = time.perf_counter()
        result = await scan(runtime, FULL_SCAN_AS_OF)
        seconds = time.perf_counter() - started
        out["sla_scan"] = {"seconds": seconds, "checked": result.checked, "warned": len(result.warned),
                           "breached": len(result.breached), "tickets_per_s": result.checked / seconds}
        first_chunk = next(s for s in statements.seen if "sla_next_check_at <=" in s[0])
        out["sla_scan"].update(await _explain(db.dsn, first_chunk, *INDEXES["sla_scan"]))
        say(f"N={n} full SLA scan: {result.checked} due in {seconds:.2f} s ({len(result.warned)} warned, "
            f"{len(result.breached)} breached), {out['sla_scan']['plan']}")
    return out


def _run(args: argparse.Namespace, bench: common.Bench) -> int:
    from services.cli.volume.tickets import load_tickets
    from shared.devkeys import ensure_dev_keys

    keys = ensure_dev_keys(bench.temp_dir("tickets-scale-keys-"))
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        db = bench.database("bench_tickets_scale", MIGRATIONS)
        k = awaiting_for(n)
        started = time.perf_counter()
        counts = bench.run(load_tickets(db.dsn, n, k))
        loaded = time.perf_counter() - started
        size = bench.run(db.fetchvals({"mb": "SELECT pg_database_size(current_database()) / 1048576"}))["mb"]
        say(f"{n} tickets ({k} awaiting) loaded in {loaded:.1f} s: {counts}, {size} MB")
        rows.append({"tickets": n, "awaiting": k, "load_seconds": loaded, "rows": counts, "database_mb": size,
                     **bench.run(_measure(db, keys, n, args.requests))})
    _report(rows, args)
    return 0


FIGURES = (("queue first p99 ms", lambda r: r["queue_first"]["p99_ms"]),
           ("queue deep p99 ms", lambda r: r["queue_deep"]["p99_ms"]),
           ("customer list p99 ms", lambda r: r["customer_list"]["p99_ms"]),
           ("idle scan ms", lambda r: r["idle_scan_ms"]),
           ("full scan s", lambda r: r["sla_scan"]["seconds"]),
           ("full scan µs/ticket", lambda r: 1e6 * r["sla_scan"]["seconds"] / max(1, r["sla_scan"]["checked"])))


def _report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nTickets at volume (PostgreSQL {common.commit() or ''}, {args.requests} requests per path, "
          f"{PAGE} per page, in-process ASGI)")
    print(f"{'tickets':>9} {'awaiting':>8} {'load s':>7} {'queue 1st p50/p99':>18} {'queue deep p50/p99':>19} "
          f"{'customer p50/p99':>17} {'idle scan':>9} {'full scan':>10} {'tickets/s':>9} {'index ranges':>12}")
    for r in rows:
        ranges = all(r[p]["index_range"] for p in INDEXES)
        print(f"{r['tickets']:>9} {r['awaiting']:>8} {r['load_seconds']:>7.1f} "
              + " ".join(f"{r[p]['p50_ms']:>8.1f}/{r[p]['p99_ms']:<{w}.1f}" for p, w in
                         (("queue_first", 9), ("queue_deep", 10), ("customer_list", 8)))
              + f" {r['idle_scan_ms']:>6.1f} ms {r['sla_scan']['seconds']:>8.2f} s "
              f"{r['sla_scan']['tickets_per_s']:>9.0f} {'yes' if ranges else 'NO':>12}")
    print("\nPlans (EXPLAIN of the statement each path sent):")
    for r in rows:
        for path in INDEXES:
            print(f"  {r['tickets']:>9} {path:<14} {'index range' if r[path]['index_range'] else 'NOT A RANGE'}: "
                  f"{r[path]['plan']}")
    small, big = min(rows, key=lambda r: r["tickets"]), max(rows, key=lambda r: r["tickets"])
    growth = {}
    if big is not small:
        print(f"\nGrowth {small['tickets']} → {big['tickets']} tickets ({big['tickets'] // small['tickets']}×; "
              f"awaiting {big['awaiting'] // small['awaiting']}×):")
        for what, value in FIGURES:
            growth[what] = value(big) / value(small) if value(small) else None
            print(f"  {what:<22} {value(small):>9.2f} → {value(big):>9.2f}  ×{growth[what]:.2f}")
    checks = []
    for r in rows:
        if r["awaiting"] >= 100_000:
            s = r["sla_scan"]["seconds"]
            checks.append((f"full SLA scan of {r['awaiting']} awaiting ≤ 2 s ({r['tickets']} tickets)", s,
                           s <= TARGETS["scan_100k_s"]))
        if r["tickets"] >= 1_000_000:
            for path in ("queue_first", "queue_deep"):
                p99 = r[path]["p99_ms"]
                checks.append((f"{path} p99 ≤ 50 ms ({r['tickets']} tickets)", p99,
                               p99 <= TARGETS["page_p99_ms_1m"]))
        checks.append((f"every path an index range ({r['tickets']} tickets)",
                       sum(r[p]["index_range"] for p in INDEXES), all(r[p]["index_range"] for p in INDEXES)))
    print()
    for what, value, met in checks:
        print(f"  {'MET    ' if met else 'NOT MET'}  {what}: {value:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "tickets_scale.json"
    out.write_text(json.dumps({"commit": common.commit(), "requests": args.requests, "rows": rows, "growth": growth,
                               "checks": [{"what": w, "value": v, "met": m} for w, v, m in checks]}, indent=2,
                              default=str))
    print(f"\nwrote {out}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tickets_scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000, 1_000_000])
    p.add_argument("--requests", type=int, default=200, help="timed requests per path (default 200)")
    args = p.parse_args(argv)
    if not (all(n >= 10 for n in args.sizes) and 1 <= args.requests <= 10_000):
        p.error("out of range: every size ≥ 10, 1 ≤ requests ≤ 10000")
    return common.main_guard(lambda bench: _run(args, bench))


if __name__ == "__main__":
    sys.exit(main())
