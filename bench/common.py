"""What the HTTP benches share: the run's life cycle (signals, clean-up), throw-away PostgreSQL
databases, uvicorn servers, seeding the entitlements service, CPU probes, alternating rounds,
medians, the report, the JSON document and the optional py-spy profile.

A bench module builds its servers and requests and hands them to these helpers; see
`bench/entitlements_check.py` and `bench/tickets_create.py`, and bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import asyncpg
import httpx

from bench import loadgen
from tests.support.postgres import connected, create_database, database_dsn, database_url, drop_database

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results"
CATALOGUE = REPO_ROOT / "services" / "entitlements" / "data" / "catalogue.yaml"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
PLAN = "o365-standard"
STARTUP_TIMEOUT = 30.0
SEED_CONCURRENCY = 8
TARGETS = ("baseline", "service")  # the order of every round
NOISY_PERCENT = 25  # `other` CPU (% of one core) from which a run is flagged as noisy


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---- options -----------------------------------------------------------------------------------

def load_options(p: argparse.ArgumentParser, *, profile_help: str) -> None:
    """The options every HTTP bench has."""
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each run (default 2)")
    p.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of (baseline, service); the median of the rounds is reported (default 3)")
    p.add_argument("--customers", type=int, default=200, help="customers seeded with an active contract (default 200)")
    p.add_argument("--profile", action="store_true", help=profile_help)


def parse_args(prog: str, doc: str, profiled: str, argv: list[str] | None) -> argparse.Namespace:
    """The options of a bench module `prog` (described by the first paragraph of `doc`) whose
    `--profile` samples `profiled`."""
    p = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc.split("\n\n")[0])
    load_options(p, profile_help=f"after the runs, sample {profiled} with py-spy during one extra (unreported) run "
                                 "and print where its CPU time goes; needs py-spy (.venv/bin/pip install py-spy)")
    return parse_load_options(p, argv)


def parse_load_options(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = p.parse_args(argv)
    if not (0 < args.duration <= 600 and 0 <= args.warmup <= 60 and 1 <= args.connections <= 1000
            and 1 <= args.rounds <= 20 and 1 <= args.customers <= 10_000):
        p.error("out of range: 0<duration<=600, 0<=warmup<=60, 1<=connections<=1000, 1<=rounds<=20, "
                "1<=customers<=10000")
    return args


# ---- the run's life cycle ----------------------------------------------------------------------

class PostgresUnavailable(Exception):
    pass


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main_guard(body: Callable[["Bench"], int]) -> int:
    """Run `body` with a `Bench` whose resources (servers, temp dirs, databases, event loop) are
    undone in reverse order whatever happens. Exit status: body's, 2 when PostgreSQL is not
    reachable, 130 when interrupted (Ctrl-C or SIGTERM)."""
    signal.signal(signal.SIGTERM, _interrupt)
    stack = contextlib.ExitStack()
    interrupted = False
    try:
        return body(Bench(stack, os.environ.get("BENCH_POSTGRES_DSN", DEFAULT_DSN)))
    except PostgresUnavailable as exc:
        say(f"{exc}; start PostgreSQL or set BENCH_POSTGRES_DSN")
        return 2
    except KeyboardInterrupt:
        interrupted = True
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up itself is not interrupted
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
        if interrupted:
            print("\ninterrupted; the servers were stopped and the databases dropped", file=sys.stderr)


class Bench:
    """One run's event loop (uvloop when installed), databases, temp dir and servers."""

    def __init__(self, stack: contextlib.ExitStack, admin_dsn: str) -> None:
        self.stack, self.admin_dsn = stack, admin_dsn
        self.loop_impl, self.http_impl = uvicorn_impl()
        self.ev = loadgen.new_event_loop()
        stack.callback(self.ev.close)
        self.postgres_version = "?"
        self.load_averages: dict[str, list[float]] = {}  # 1-min load average after each run, per target

    def run(self, coro: Any) -> Any:
        return self.ev.run_until_complete(coro)

    def database(self, prefix: str, migrations: Path) -> "BenchDatabase":
        """A fresh database `<prefix>_<random>`, migrated; dropped at the end of the run."""
        db = BenchDatabase(self.admin_dsn, prefix)
        try:
            self.run(db.create())
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            raise PostgresUnavailable(f"cannot create a database on {self.admin_dsn} "
                                      f"({type(exc).__name__}: {exc})") from None
        self.postgres_version = db.server_version

        def drop() -> None:
            for task in asyncio.all_tasks(self.ev):  # left over by an interrupted run
                task.cancel()
            self.run(db.drop())
            say(f"dropped database {db.name}")

        self.stack.callback(drop)
        say(f"database {db.name} on PostgreSQL {db.server_version}")
        from shared.migrations import upgrade

        upgrade(migrations, db.url)
        return db

    def temp_dir(self, prefix: str) -> Path:
        return Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))

    def server(self, name: str, factory: str, env: dict[str, str], log_dir: Path, ready_path: str) -> "Server":
        """Start `python -m uvicorn --factory …` (the same flags for every server) and wait until
        `ready_path` answers 200; stopped at the end of the run."""
        server = Server(name, factory, env, log_dir, self.loop_impl, self.http_impl)
        server.start()
        self.stack.callback(server.stop)
        server.wait_ready(ready_path)
        say(f"{server.name} up on {HOST}:{server.port} (pid {server.proc.pid})")
        return server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def uvicorn_impl() -> tuple[str, str]:
    """The loop and HTTP parser every server uses (the fastest installed)."""
    def has(module: str) -> bool:
        try:
            __import__(module)
        except ImportError:
            return False
        return True
    return ("uvloop" if has("uvloop") else "asyncio"), ("httptools" if has("httptools") else "h11")


# ---- the database ------------------------------------------------------------------------------

class BenchDatabase:
    def __init__(self, admin_dsn: str, prefix: str) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.url = database_url(admin_dsn, self.name)
        self.dsn = database_dsn(admin_dsn, self.name)  # for plain asyncpg
        self.server_version = "?"

    async def create(self) -> None:
        async with connected(self.admin_dsn) as conn:
            self.server_version = await conn.fetchval("SHOW server_version")
        await create_database(self.admin_dsn, self.name)

    async def drop(self) -> None:
        await drop_database(self.admin_dsn, self.name)

    async def fetchvals(self, queries: dict[str, str]) -> dict[str, Any]:
        """name → the first value of each query, on one connection."""
        async with connected(self.dsn) as conn:
            return {name: await conn.fetchval(sql) for name, sql in queries.items()}


# ---- the servers -------------------------------------------------------------------------------

class Server:
    """One `python -m uvicorn --factory APP --workers 1` process, logs to a file."""

    def __init__(self, name: str, factory: str, env: dict[str, str], log_dir: Path, loop: str, http: str) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self.args = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", HOST, "--port", str(self.port),
                     "--workers", "1", "--loop", loop, "--http", http, "--no-access-log", "--log-level", "warning"]
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            # own session: a Ctrl-C in the terminal reaches only the bench, which stops the servers itself
            self.proc = subprocess.Popen(self.args, env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                r = httpx.get(f"{self.url}{path}", timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {STARTUP_TIMEOUT:.0f} s ({last}):\n{self.log_tail()}")

    def ensure_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} died during the run:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


# ---- the entitlements service: environment, catalogue, tokens, customers -------------------------

def entitlements_env(tmp: Path, database_url: str, private_key: Path, jwks: Path) -> dict[str, str]:
    """What the entitlements service gets (beside whatever ENTITLEMENTS_* the caller has set)."""
    return {
        "SUPPORT_DATA_DIR": str(tmp),
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_JWKS_FILE": str(jwks),
        "ENTITLEMENTS_SIGNING_KEY_FILE": str(private_key),
        "ENTITLEMENTS_ENVIRONMENT": "test",
        "ENTITLEMENTS_LOG_LEVEL": "WARNING",
        "ENTITLEMENTS_EVENT_SINKS": "{}",
        "ENTITLEMENTS_RELAY_ENABLED": "false",
    }


def load_catalogue(env: dict[str, str]) -> None:
    """`services/entitlements/data/catalogue.yaml` by the CLI (`supportctl catalogue load`)."""
    out = subprocess.run([sys.executable, "-m", "services.cli.main", "catalogue", "load", str(CATALOGUE)],
                         env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"catalogue load failed:\n{out.stdout}\n{out.stderr}")
    say(f"catalogue: {' '.join(out.stderr.split())}")


def token_minter(private_key: Path, settings: Any, args: argparse.Namespace) -> Callable[[str], str]:
    """role → a dev JWT for `settings`' issuer and audience, valid for the whole run."""
    from shared.devkeys import DEV_KID, mint_token

    pem = private_key.read_text()
    ttl = int(3600 + args.rounds * 2 * (args.warmup + args.duration) * 2)

    def token(role: str) -> str:
        return mint_token(pem, kid=DEV_KID, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                          subject=f"bench-{role}", role=role, ttl=ttl)

    return token


def customer_ids(n: int) -> list[str]:
    return [f"bench-cust-{i:05d}" for i in range(n)]


async def seed(base_url: str, customers: list[str], shop_token: str, service_token: str) -> None:
    """Per customer: buy `o365-standard` as an add-on with a new `office365` licence (shop token,
    Idempotency-Key), then activate the contract (service token), over HTTP."""
    sem = asyncio.Semaphore(SEED_CONCURRENCY)

    async def one(client: httpx.AsyncClient, i: int, customer: str) -> None:
        body = {"customer_id": customer, "plan_id": PLAN, "mode": "addon",
                "licence": {"product": "office365", "reference": f"{customer}.onmicrosoft.com"},
                "term_months": 12, "payment_method": "card",
                "billing": {"name": f"Bench Customer {i} sp. z o.o.", "nip": "1234563218",
                            "address": "ul. Prosta 1, 00-001 Warszawa", "email": f"faktury+{i}@example.com"}}
        async with sem:
            r = await client.post("/v1/purchases", json=body, headers={
                "Authorization": f"Bearer {shop_token}", "Idempotency-Key": f"bench-{customer}"})
            if r.status_code != 201:
                raise RuntimeError(f"purchase for {customer}: {r.status_code} {r.text[:300]}")
            contract_id = r.json()["id"]
            r = await client.post(f"/v1/contracts/{contract_id}/activate",
                                  headers={"Authorization": f"Bearer {service_token}"})
            if r.status_code != 200 or r.json().get("status") != "active":
                raise RuntimeError(f"activate {contract_id}: {r.status_code} {r.text[:300]}")

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        await asyncio.gather(*(one(client, i, c) for i, c in enumerate(customers)))


def seed_customers(bench: Bench, entitlements: Server, n: int, token: Callable[[str], str]) -> list[str]:
    customers = customer_ids(n)
    started = time.monotonic()
    bench.run(seed(entitlements.url, customers, token("shop"), token("service")))
    say(f"seeded {len(customers)} customers with an active {PLAN} contract in {time.monotonic() - started:.1f} s")
    return customers


# ---- CPU probes --------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0.0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (all cores; /proc/stat minus idle and iowait)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def backend_pids(databases: list[str]) -> list[int]:
    """PostgreSQL backends serving any of `databases` on this machine, by their process title."""
    needles = [f" {database} ".encode() for database in databases]
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if any(needle in cmdline for needle in needles):
                pids.append(int(entry.name))
    return pids


def cpu_probe(processes: dict[str, int], databases: list[str]) -> Callable[[], dict[str, float]]:
    """CPU seconds of the named processes, of this process (the load generator), of the
    databases' backends (a backend that exits during the run takes its CPU time with it: a lower
    bound) and of the whole machine (busy time of all cores, to tell what else was running)."""
    me = os.getpid()

    def probe() -> dict[str, float]:
        out = {name: cpu_seconds(pid) for name, pid in processes.items()}
        out["generator"] = cpu_seconds(me)
        # per backend, so that the differences are taken per process
        out.update({f"postgres:{pid}": cpu_seconds(pid) for pid in backend_pids(databases)})
        busy = machine_busy_seconds()
        if busy is not None:
            out["machine"] = busy
        return out

    return probe


def settle_cpu(cpu: dict[str, float]) -> dict[str, float]:
    """The probe's differences → one `postgres` figure, and `other`: what the rest of the machine
    (test suites, other databases, ...) used meanwhile. `machine` itself is dropped."""
    merged = {k: v for k, v in cpu.items() if not k.startswith("postgres:") and k != "machine"}
    backends = [v for k, v in cpu.items() if k.startswith("postgres:")]
    if backends:
        merged["postgres"] = sum(backends)
    if "machine" in cpu:
        merged["other"] = max(0.0, cpu["machine"] - sum(merged.values()))
    return merged


def load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ---- the runs ----------------------------------------------------------------------------------

@dataclass
class Target:
    name: str  # one of TARGETS
    server: Server
    requests: Callable[[], loadgen.Requests]  # called once per run (a factory may need fresh keys)
    probe: Callable[[], dict[str, float]]
    also_alive: tuple[Server, ...] = ()  # servers it depends on


def alternate(bench: Bench, targets: list[Target], args: argparse.Namespace, *, expect: bytes,
              expect_status: int) -> dict[str, list[loadgen.RunResult]]:
    """`args.rounds` rounds of one run per target, in the order given, so that machine noise
    affects every target alike."""
    runs: dict[str, list[loadgen.RunResult]] = {t.name: [] for t in targets}
    loads: dict[str, list[float]] = {t.name: [] for t in targets}
    for i in range(args.rounds):
        for target in targets:
            say(f"round {i + 1}/{args.rounds}: {target.name} ({args.warmup:g} s warm-up + {args.duration:g} s)")
            result = bench.run(loadgen.run(HOST, target.server.port, target.requests(),
                                           connections=args.connections, warmup=args.warmup,
                                           duration=args.duration, expect=expect, expect_status=expect_status,
                                           cpu_probe=target.probe))
            result.cpu = settle_cpu(result.cpu)
            runs[target.name].append(result)
            load = load_average()
            if load is not None:
                loads[target.name].append(load)
            for server in (target.server, *target.also_alive):
                server.ensure_alive()
    bench.load_averages = loads
    return runs


def median_of(runs: list[loadgen.RunResult]) -> dict[str, float]:
    out = {"rps": statistics.median(r.rps for r in runs),
           "p50_ms": statistics.median(r.percentile(50) for r in runs),
           "p99_ms": statistics.median(r.percentile(99) for r in runs),
           "requests_ok": sum(r.ok for r in runs), "errors": sum(r.error_count for r in runs)}
    names = sorted({name for r in runs for name in r.cpu})
    for name in names:
        per_request = [v for r in runs if (v := r.cpu_ms_per_request(name)) is not None]
        if per_request and name not in ("generator", "other"):
            out[f"{name}_cpu_ms_per_request"] = statistics.median(per_request)
        percent = [v for r in runs if (v := r.cpu_percent(name)) is not None]
        if percent:
            out[f"{name}_cpu_percent"] = statistics.median(percent)
    return out


def ratio_of(medians: dict[str, dict[str, float]]) -> float:
    return medians["service"]["rps"] / medians["baseline"]["rps"] if medians["baseline"]["rps"] else 0.0


def format_cpu(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:.0f}%" if unit == "%" else f"{value:.3f} ms"


def print_report(title: str, request: str, info: dict[str, Any], runs: dict[str, list[loadgen.RunResult]],
                 medians: dict[str, dict[str, float]], ratio: float, target_ratio: float) -> None:
    print()
    print(f"{title} — PostgreSQL {info['postgres']}, 1 uvicorn worker each ({info['loop']}/{info['http']}), "
          f"{info['connections']} connections, {info['customers']} customers, "
          f"{info['rounds']} × {info['duration_s']:g} s (+{info['warmup_s']:g} s warm-up) per target")
    print(request)
    header = (f"{'run':<7} {'target':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>7} {'errors':>6}  "
              f"{'srv CPU':>7} {'srv CPU/req':>11} {'pg CPU/req':>10} {'gen CPU':>7} {'other':>6}")
    print(header)
    print("-" * len(header))
    for i in range(info["rounds"]):
        for target in TARGETS:
            r = runs[target][i]
            print(f"{i + 1:<7} {target:<9} {r.rps:>8.1f} {r.percentile(50):>8.2f} {r.percentile(99):>8.2f} "
                  f"{r.ok:>7} {r.error_count:>6}  {format_cpu(r.cpu_percent('server'), '%'):>7} "
                  f"{format_cpu(r.cpu_ms_per_request('server'), 'ms'):>11} "
                  f"{format_cpu(r.cpu_ms_per_request('postgres'), 'ms'):>10} "
                  f"{format_cpu(r.cpu_percent('generator'), '%'):>7} {format_cpu(r.cpu_percent('other'), '%'):>6}")
    print("-" * len(header))
    for target in TARGETS:
        m = medians[target]
        print(f"{'median':<7} {target:<9} {m['rps']:>8.1f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} "
              f"{m['requests_ok']:>7} {m['errors']:>6}  {format_cpu(m.get('server_cpu_percent'), '%'):>7} "
              f"{format_cpu(m.get('server_cpu_ms_per_request'), 'ms'):>11} "
              f"{format_cpu(m.get('postgres_cpu_ms_per_request'), 'ms'):>10} "
              f"{format_cpu(m.get('generator_cpu_percent'), '%'):>7} {format_cpu(m.get('other_cpu_percent'), '%'):>6}")
    print("(CPU: user+system time over the measured window, 100% = one core, of the server process, of the "
          "PostgreSQL backends of the bench database(s), of the load generator, and `other`: the rest of the "
          f"machine ({os.cpu_count()} cores) — near 0% on a quiet machine; tens of % mean the figures are noisy)")
    met = ratio >= target_ratio
    print(f"\nratio service/baseline req/s = {ratio:.3f}   target >= {target_ratio}: {'MET' if met else 'NOT MET'}")
    busy = [(i + 1, t, v) for t in TARGETS for i, r in enumerate(runs[t])
            if (v := r.cpu_percent("other")) is not None and v >= NOISY_PERCENT]
    if busy:
        print(f"NOISY: other work used >= {NOISY_PERCENT}% of a core during "
              + ", ".join(f"round {i} {t} ({v:.0f}%)" for i, t, v in busy)
              + "; the absolute figures are low and the ratio less certain — re-run on a quiet machine")
    errors: Counter = Counter()
    for target in runs:
        for r in runs[target]:
            errors.update({f"{target}: {k}": v for k, v in r.errors.items()})
    if errors:
        print("\n" + "!" * 78)
        print(f"!!! {sum(errors.values())} REQUESTS FAILED — these figures are NOT valid:")
        for kind, n in errors.most_common():
            print(f"!!!   {n:>7}  {kind}")
        print("!" * 78)


def write_document(bench: Bench, name: str, *, request: str, info: dict[str, Any], config: dict[str, Any],
                   runs: dict[str, list[loadgen.RunResult]], medians: dict[str, dict[str, float]], ratio: float,
                   target_ratio: float, extra: dict[str, Any] | None = None) -> Path:
    """bench/results/<name>.json (git-ignored)."""
    errors = sum(m["errors"] for m in medians.values())
    document = {
        "bench": name,
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "request": request,
        "config": {**info, **config},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_after_runs": bench.load_averages},
        "runs": {t: [r.summary() for r in rs] for t, rs in runs.items()},
        "median": {t: {k: round(v, 3) for k, v in m.items()} for t, m in medians.items()},
        "ratio": round(ratio, 4), "target_ratio": target_ratio, "target_met": ratio >= target_ratio,
        "valid": errors == 0,
        **(extra or {}),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(REPO_ROOT)}")
    return out


def commit() -> str | None:
    """HEAD (read-only git calls), with `+dirty` when services/ or shared/ have uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "services", "shared"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (head + ("+dirty" if dirty else "")) or None


# ---- profiling (optional) ----------------------------------------------------------------------

# (category, needles): a sample goes to the first category one of whose needles is in any of
# its frames ("function (path/file.py:line)", root first).
Categories = list[tuple[str, tuple[str, ...]]]

# Activities both benches look for first.
BASE_ACTIVITIES: Categories = [
    ("DB connection open/close (pool overflow churn)", ("(asyncpg/connect_utils.py", "Connection.close (asyncpg",
                                                        "_ConnectionRecord.__connect", "_finalize_fairy")),
    ("DB pool pre-ping (BEGIN; ';'; ROLLBACK)", ("_async_ping", "do_ping")),
    ("JWT verification (shared/auth.py)", ("(shared/auth.py",)),
]

# For samples no activity claims: the innermost frame's library.
LIBRARIES: list[tuple[str, str]] = [
    ("asyncpg query execution", "(asyncpg/"),
    ("SQLAlchemy statement building", "(sqlalchemy/sql/"),
    ("SQLAlchemy session, connection, pool, result", "(sqlalchemy/"),
    ("service code (services/)", "(services/"),
    ("shared/ (middleware, unit of work)", "(shared/"),
    ("FastAPI dependency solving + params", "(fastapi/dependencies/"),
    ("FastAPI/Starlette routing and middleware", "(fastapi/"),
    ("FastAPI/Starlette routing and middleware", "(starlette/"),
    ("uvicorn HTTP protocol", "(uvicorn/"),
]


def py_spy_binary() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _stacks(collapsed: Path) -> list[tuple[list[str], int]]:
    out = []
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            out.append((stack.split(";") if stack else [], int(count)))
    return out


def categorise(collapsed: Path, activities: Categories, libraries: list[tuple[str, str]] = LIBRARIES,
               rest: str = "event loop, other") -> list[tuple[float, str]]:
    """(share %, category) of py-spy's collapsed stacks: the first activity found anywhere in a
    stack, else the innermost frame's library."""
    shares: Counter = Counter()
    total = 0
    for frames, count in _stacks(collapsed):
        total += count
        name = next((name for name, needles in activities
                     if any(needle in frame for frame in frames for needle in needles)), None)
        if name is None:
            name = next((name for frame in reversed(frames) for name, needle in libraries if needle in frame), rest)
        shares[name] += count
    return [(100 * n / total, name) for name, n in shares.most_common()] if total else []


def top_self(collapsed: Path, n: int = 20) -> list[tuple[float, str]]:
    """(self %, innermost frame) from py-spy's collapsed stacks."""
    own: Counter = Counter()
    total = 0
    for frames, count in _stacks(collapsed):
        total += count
        own[frames[-1] if frames else "(no Python frame)"] += count
    return [(100 * c / total, f) for f, c in own.most_common(n)] if total else []


def profile(bench: Bench, target: Target, args: argparse.Namespace, *, expect: bytes, expect_status: int,
            cpu_ms_per_request: float | None, name: str,
            tables: list[tuple[str, Categories, list[tuple[str, str]]]], rest: str = "event loop, other") -> None:
    """Sample the target's server with py-spy (`--gil`: only while it holds the GIL, i.e. its CPU
    time) during one extra run, and print where that time goes, one table per entry of `tables`
    (title, activities, libraries) and the innermost frames; shares are turned into microseconds
    per request with the server CPU per request measured by the (unsampled) runs."""
    binary = py_spy_binary()
    if binary is None:
        say("--profile: py-spy not found (.venv/bin/pip install py-spy); skipped")
        return
    collapsed = RESULTS / f"{name}.pyspy.txt"
    seconds = max(2, int(args.duration))
    spy = subprocess.Popen([binary, "record", "--pid", str(target.server.proc.pid), "--gil", "--rate", "100",
                            "--duration", str(seconds), "--format", "raw", "--output", str(collapsed)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = ""
    try:
        say(f"profiling the {target.name} with py-spy for {seconds} s (this run is not reported)")
        result = bench.run(loadgen.run(HOST, target.server.port, target.requests(), connections=args.connections,
                                       warmup=0.5, duration=seconds + 1.5, expect=expect,
                                       expect_status=expect_status))
        _, err = spy.communicate(timeout=60)
    finally:
        if spy.poll() is None:
            spy.kill()
            spy.wait(timeout=5)
    if spy.returncode != 0 or not collapsed.exists():
        say(f"py-spy failed ({spy.returncode}): {err.strip()[-500:]}")
        return
    per_req = cpu_ms_per_request or 0.0
    print(f"\nWhere the {target.name}'s CPU time goes (py-spy --gil, {result.rps:.0f} req/s while sampled, "
          f"{result.error_count} errors; {per_req:.3f} ms server CPU per request in the measured runs; stacks: "
          f"{collapsed.relative_to(REPO_ROOT)}):")
    for title, activities, libraries in tables:
        print(f"{'share':>6} {'µs/req':>7}  {title}")
        for share, category in categorise(collapsed, activities, libraries, rest):
            print(f"{share:>5.1f}% {share * per_req * 10:>7.0f}  {category}")
        print()
    print(f"{'self':>6}  innermost Python frame")
    for share, frame in top_self(collapsed):
        print(f"{share:>5.1f}%  {frame[:150]}")
