"""Entitlement-check throughput of the entitlements service vs a JWT-only FastAPI baseline.

    python -m bench.entitlements_check [--duration 10] [--warmup 2] [--connections 32] [--rounds 3]

Creates a throw-away PostgreSQL database, migrates it, loads the demo catalogue, starts the
service and `bench/jwt_only_app.py` as two uvicorn processes (one worker each, same flags),
seeds customers with active contracts over HTTP, then loads
`GET /v1/customers/{id}/entitlements/check?product=office365-support&feature=remote_diagnostics`
round-robin over the customers on both, alternately, and prints req/s, p50 and p99 of each,
the median over the rounds and the ratio service ÷ baseline (target ≥ 0.6). A measurement, not a
test: the exit status does not depend on the figures. See bench/README.md.
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
from pathlib import Path

import asyncpg
import httpx

from bench import loadgen

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results"
CATALOGUE = REPO_ROOT / "services" / "entitlements" / "data" / "catalogue.yaml"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
PRODUCT, FEATURE, PLAN = "office365-support", "remote_diagnostics", "o365-standard"
TARGET_RATIO = 0.6
EXPECTED_BODY = b'"allowed":true'
STARTUP_TIMEOUT = 30.0
SEED_CONCURRENCY = 8


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.entitlements_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each run (default 2)")
    p.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of (baseline, service); the median of the rounds is reported (default 3)")
    p.add_argument("--customers", type=int, default=200, help="customers seeded with an active contract (default 200)")
    p.add_argument("--profile", action="store_true",
                   help="after the runs, sample the service with py-spy during one extra (unreported) run and "
                        "print where its CPU time goes; needs py-spy (.venv/bin/pip install py-spy)")
    args = p.parse_args(argv)
    if not (0 < args.duration <= 600 and 0 <= args.warmup <= 60 and 1 <= args.connections <= 1000
            and 1 <= args.rounds <= 20 and 1 <= args.customers <= 10_000):
        p.error("out of range: 0<duration<=600, 0<=warmup<=60, 1<=connections<=1000, 1<=rounds<=20, "
                "1<=customers<=10000")
    return args


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def uvicorn_impl() -> tuple[str, str]:
    """The loop and HTTP parser both servers use (the fastest installed)."""
    def has(module: str) -> bool:
        try:
            __import__(module)
        except ImportError:
            return False
        return True
    return ("uvloop" if has("uvloop") else "asyncio"), ("httptools" if has("httptools") else "h11")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0.0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def backend_pids(database: str) -> list[int]:
    """PostgreSQL backends serving `database` on this machine, by their process title."""
    needle = f" {database} ".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_probe(server_pid: int, database: str | None):  # type: ignore[no-untyped-def]
    """CPU seconds of the server, of this process (the load generator) and of the database's
    backends (a backend that exits during the run takes its CPU time with it: a lower bound)."""
    me = os.getpid()

    def probe() -> dict[str, float]:
        out = {"server": cpu_seconds(server_pid), "generator": cpu_seconds(me)}
        if database is not None:  # per backend, so that the differences are taken per process
            out.update({f"postgres:{pid}": cpu_seconds(pid) for pid in backend_pids(database)})
        return out

    return probe


def merge_backends(cpu: dict[str, float]) -> dict[str, float]:
    merged = {k: v for k, v in cpu.items() if not k.startswith("postgres:")}
    backends = [v for k, v in cpu.items() if k.startswith("postgres:")]
    if backends:
        merged["postgres"] = sum(backends)
    return merged


# ---- the database ------------------------------------------------------------------------------

class BenchDatabase:
    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"bench_entitlements_{uuid.uuid4().hex[:8]}"
        base = admin_dsn.rsplit("/", 1)[0]
        self.url = f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{self.name}"
        self.server_version = "?"

    async def create(self) -> None:
        conn = await asyncio.wait_for(asyncpg.connect(self.admin_dsn), timeout=10)
        try:
            self.server_version = await conn.fetchval("SHOW server_version")
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()

    async def drop(self) -> None:
        conn = await asyncio.wait_for(asyncpg.connect(self.admin_dsn), timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()


# ---- the servers -------------------------------------------------------------------------------

class Server:
    """One `python -m uvicorn --factory APP --workers 1` process, logs to a file."""

    def __init__(self, name: str, factory: str, env: dict[str, str], log_dir: Path, loop: str, http: str) -> None:
        self.name, self.port = name, free_port()
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
                r = httpx.get(f"http://{HOST}:{self.port}{path}", timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {STARTUP_TIMEOUT:.0f} s ({last}):\n{self.log_tail()}")

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


# ---- seeding -----------------------------------------------------------------------------------

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
                "billing": {"name": f"Bench Customer {i} sp. z o.o.", "nip": "5260250274",
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


def check_path(customer: str) -> str:
    return f"/v1/customers/{customer}/entitlements/check?product={PRODUCT}&feature={FEATURE}"


# ---- reporting ---------------------------------------------------------------------------------

def median_of(runs: list[loadgen.RunResult]) -> dict[str, float]:
    out = {"rps": statistics.median(r.rps for r in runs),
           "p50_ms": statistics.median(r.percentile(50) for r in runs),
           "p99_ms": statistics.median(r.percentile(99) for r in runs),
           "requests_ok": sum(r.ok for r in runs), "errors": sum(r.error_count for r in runs)}
    for name in ("server", "postgres"):
        per_request = [v for r in runs if (v := r.cpu_ms_per_request(name)) is not None]
        if per_request:
            out[f"{name}_cpu_ms_per_request"] = statistics.median(per_request)
    percent = [v for r in runs if (v := r.cpu_percent("server")) is not None]
    if percent:
        out["server_cpu_percent"] = statistics.median(percent)
    return out


def print_report(info: dict, runs: dict[str, list[loadgen.RunResult]], medians: dict[str, dict], ratio: float) -> None:
    print()
    print(f"Entitlement check vs JWT-only baseline — PostgreSQL {info['postgres']}, 1 uvicorn worker each "
          f"({info['loop']}/{info['http']}), {info['connections']} connections, {info['customers']} customers, "
          f"{info['rounds']} × {info['duration_s']:g} s (+{info['warmup_s']:g} s warm-up) per target")
    print(f"GET {check_path('{customer_id}')}")
    header = (f"{'run':<7} {'target':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>7} {'errors':>6}  "
              f"{'srv CPU':>7} {'srv CPU/req':>11} {'pg CPU/req':>10} {'gen CPU':>7}")
    print(header)
    print("-" * len(header))

    def cpu(value: float | None, unit: str) -> str:
        return "-" if value is None else f"{value:.0f}%" if unit == "%" else f"{value:.3f} ms"

    for i in range(info["rounds"]):
        for target in ("baseline", "service"):
            r = runs[target][i]
            print(f"{i + 1:<7} {target:<9} {r.rps:>8.1f} {r.percentile(50):>8.2f} {r.percentile(99):>8.2f} "
                  f"{r.ok:>7} {r.error_count:>6}  {cpu(r.cpu_percent('server'), '%'):>7} "
                  f"{cpu(r.cpu_ms_per_request('server'), 'ms'):>11} {cpu(r.cpu_ms_per_request('postgres'), 'ms'):>10} "
                  f"{cpu(r.cpu_percent('generator'), '%'):>7}")
    print("-" * len(header))
    for target in ("baseline", "service"):
        m = medians[target]
        print(f"{'median':<7} {target:<9} {m['rps']:>8.1f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} "
              f"{m['requests_ok']:>7} {m['errors']:>6}  {cpu(m.get('server_cpu_percent'), '%'):>7} "
              f"{cpu(m.get('server_cpu_ms_per_request'), 'ms'):>11} "
              f"{cpu(m.get('postgres_cpu_ms_per_request'), 'ms'):>10}")
    print("(CPU: user+system time of the server process, of the PostgreSQL backends of the bench database, and of "
          "the load generator, over the measured window; 100% = one core)")
    met = ratio >= TARGET_RATIO
    print(f"\nratio service/baseline req/s = {ratio:.3f}   target >= {TARGET_RATIO}: {'MET' if met else 'NOT MET'}")
    errors = Counter()
    for target in runs:
        for r in runs[target]:
            errors.update({f"{target}: {k}": v for k, v in r.errors.items()})
    if errors:
        print("\n" + "!" * 78)
        print(f"!!! {sum(errors.values())} REQUESTS FAILED — these figures are NOT valid:")
        for kind, n in errors.most_common():
            print(f"!!!   {n:>7}  {kind}")
        print("!" * 78)


# ---- profiling (optional) ----------------------------------------------------------------------

def py_spy_binary() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


# Where a sample's time goes. First the named activities, matched anywhere in the stack (in this
# order); then, for the rest, the innermost frame's library.
ACTIVITIES: list[tuple[str, tuple[str, ...]]] = [
    ("DB connection open/close (pool overflow churn)", ("(asyncpg/connect_utils.py", "Connection.close (asyncpg",
                                                        "_ConnectionRecord.__connect", "_finalize_fairy")),
    ("DB pool pre-ping (BEGIN; ';'; ROLLBACK)", ("_async_ping", "do_ping")),
    ("JWT verification (shared/auth.py)", ("(shared/auth.py",)),
    ("sync `def` dependency sent to the threadpool", ("run_in_threadpool",)),
    ("SQLAlchemy compile + cache key", ("_compile_w_cache",)),
    ("SQLAlchemy ORM row loading", ("(sqlalchemy/orm/loading.py",)),
    ("response validation + JSON", ("serialize_response",)),
]
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


def categorise(collapsed: Path) -> list[tuple[float, str]]:
    """(share %, category) of py-spy's collapsed stacks (root first, leaf last)."""
    shares, total = Counter(), 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = stack.split(";") if stack else []
        name = next((name for name, needles in ACTIVITIES
                     if any(needle in frame for frame in frames for needle in needles)), None)
        if name is None:
            name = next((name for frame in reversed(frames) for name, needle in LIBRARIES if needle in frame),
                        "event loop, other")
        shares[name] += int(count)
    return [(100 * n / total, name) for name, n in shares.most_common()] if total else []


def top_self(collapsed: Path, n: int = 20) -> list[tuple[float, str]]:
    """(self %, innermost frame) from py-spy's collapsed stacks."""
    own, total = Counter(), 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            total += int(count)
            own[stack.split(";")[-1] if stack else "(no Python frame)"] += int(count)
    return [(100 * c / total, f) for f, c in own.most_common(n)] if total else []


# ---- main --------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    admin_dsn = os.environ.get("BENCH_POSTGRES_DSN", DEFAULT_DSN)
    loop_impl, http_impl = uvicorn_impl()
    stack = contextlib.ExitStack()  # servers, temp dir, database: undone in reverse order
    interrupted = False
    try:
        return _run(args, admin_dsn, loop_impl, http_impl, stack)
    except KeyboardInterrupt:
        interrupted = True
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up itself is not interrupted
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
        if interrupted:
            print("\ninterrupted; the servers were stopped and the database dropped", file=sys.stderr)


def _run(args: argparse.Namespace, admin_dsn: str, loop_impl: str, http_impl: str,
         stack: contextlib.ExitStack) -> int:
    from services import registry
    from shared.devkeys import DEV_KID, ensure_dev_keys, mint_token
    from shared.migrations import upgrade

    ev = loadgen.new_event_loop()
    stack.callback(ev.close)

    def say(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    # 1. a fresh database, migrated
    db = BenchDatabase(admin_dsn)
    try:
        ev.run_until_complete(db.create())
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
        say(f"cannot create a database on {admin_dsn} ({type(exc).__name__}: {exc}); "
            "start PostgreSQL or set BENCH_POSTGRES_DSN")
        return 2

    def drop() -> None:
        for task in asyncio.all_tasks(ev):  # left over by an interrupted run
            task.cancel()
        ev.run_until_complete(db.drop())
        say(f"dropped database {db.name}")

    stack.callback(drop)
    say(f"database {db.name} on PostgreSQL {db.server_version}")
    upgrade(registry.get("entitlements").migrations, db.url)

    # 2. dev keys and the environment of every process (the service reads ENTITLEMENTS_*)
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-entitlements-")))
    private_key, jwks = ensure_dev_keys(tmp / "keys")
    bench_env = {
        "SUPPORT_DATA_DIR": str(tmp),
        "ENTITLEMENTS_DATABASE_URL": db.url,
        "ENTITLEMENTS_JWKS_FILE": str(jwks),
        "ENTITLEMENTS_SIGNING_KEY_FILE": str(private_key),
        "ENTITLEMENTS_ENVIRONMENT": "test",
        "ENTITLEMENTS_LOG_LEVEL": "WARNING",
        "ENTITLEMENTS_EVENT_SINKS": "{}",
        "ENTITLEMENTS_RELAY_ENABLED": "false",
    }
    os.environ.update(bench_env)
    env = dict(os.environ)

    # 3. the catalogue, by the CLI (`supportctl catalogue load`)
    out = subprocess.run([sys.executable, "-m", "services.cli.main", "catalogue", "load", str(CATALOGUE)],
                         env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"catalogue load failed:\n{out.stdout}\n{out.stderr}")
    say(f"catalogue: {' '.join(out.stderr.split())}")

    # 4. both servers, started the same way
    baseline = Server("baseline", "bench.jwt_only_app:create_app", env, tmp, loop_impl, http_impl)
    service = Server("service", "services.entitlements.main:create_app", env, tmp, loop_impl, http_impl)
    for server, ready_path in ((baseline, "/healthz"), (service, "/readyz")):
        server.start()
        stack.callback(server.stop)
        server.wait_ready(ready_path)
        say(f"{server.name} up on {HOST}:{server.port} (pid {server.proc.pid})")

    # 5. tokens and data
    from services.entitlements.settings import EntitlementsSettings

    settings = EntitlementsSettings()
    pem = private_key.read_text()
    ttl = int(3600 + args.rounds * 2 * (args.warmup + args.duration) * 2)

    def token(role: str) -> str:
        return mint_token(pem, kid=DEV_KID, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                          subject=f"bench-{role}", role=role, ttl=ttl)

    customers = customer_ids(args.customers)
    started = time.monotonic()
    ev.run_until_complete(seed(f"http://{HOST}:{service.port}", customers, token("shop"), token("service")))
    say(f"seeded {len(customers)} customers with an active {PLAN} contract in {time.monotonic() - started:.1f} s")

    reader = token("crm")
    paths = [check_path(c) for c in customers]
    auth = {"Authorization": f"Bearer {reader}"}
    for server in (baseline, service):  # one plain request each, so a broken set-up shows before the load
        r = httpx.get(f"http://{HOST}:{server.port}{paths[0]}", headers=auth, timeout=10)
        say(f"{server.name} answers {r.status_code} {r.text}")
        if r.status_code != 200 or EXPECTED_BODY not in r.content:
            raise RuntimeError(f"{server.name} does not answer the check as expected: {r.status_code} {r.text[:300]}")

    # 6. the runs: baseline, service, baseline, service, ...
    runs: dict[str, list[loadgen.RunResult]] = {"baseline": [], "service": []}
    for i in range(args.rounds):
        for server in (baseline, service):
            requests = loadgen.build_requests(HOST, server.port, paths, auth)
            say(f"round {i + 1}/{args.rounds}: {server.name} ({args.warmup:g} s warm-up + {args.duration:g} s)")
            probe = cpu_probe(server.proc.pid, db.name if server is service else None)
            result = ev.run_until_complete(loadgen.run(HOST, server.port, requests, connections=args.connections,
                                                       warmup=args.warmup, duration=args.duration,
                                                       expect=EXPECTED_BODY, cpu_probe=probe))
            result.cpu = merge_backends(result.cpu)
            runs["baseline" if server is baseline else "service"].append(result)
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} died during the run:\n{server.log_tail()}")

    medians = {t: median_of(rs) for t, rs in runs.items()}
    ratio = medians["service"]["rps"] / medians["baseline"]["rps"] if medians["baseline"]["rps"] else 0.0
    info = {"postgres": db.server_version, "loop": loop_impl, "http": http_impl, "connections": args.connections,
            "customers": args.customers, "rounds": args.rounds, "duration_s": args.duration, "warmup_s": args.warmup}
    print_report(info, runs, medians, ratio)

    errors = sum(m["errors"] for m in medians.values())
    document = {
        "bench": "entitlements_check",
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(),
        "request": f"GET {check_path('{customer_id}')}",
        "config": {**info, "uvicorn_args": service.args[3:], "workers": 1,
                   "db_pool_size": settings.db_pool_size, "token_role": "crm"},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "runs": {t: [r.summary() for r in rs] for t, rs in runs.items()},
        "median": {t: {k: round(v, 3) for k, v in m.items()} for t, m in medians.items()},
        "ratio": round(ratio, 4), "target_ratio": TARGET_RATIO, "target_met": ratio >= TARGET_RATIO,
        "valid": errors == 0,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_json = RESULTS / "entitlements_check.json"
    out_json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten: {out_json.relative_to(REPO_ROOT)}")

    if args.profile:
        _profile(args, ev, service, paths, auth, medians["service"].get("server_cpu_ms_per_request"), say)
    return 0


def _profile(args: argparse.Namespace, ev: asyncio.AbstractEventLoop, service: Server, paths: list[str],
             auth: dict[str, str], cpu_ms_per_request: float | None, say) -> None:  # type: ignore[no-untyped-def]
    """Sample the service with py-spy (`--gil`: only while it holds the GIL, i.e. its CPU time)
    during one extra run, and print where that time goes; shares are turned into microseconds
    per request with the server CPU per request measured by the (unsampled) runs."""
    binary = py_spy_binary()
    if binary is None:
        say("--profile: py-spy not found (.venv/bin/pip install py-spy); skipped")
        return
    collapsed = RESULTS / "entitlements_check.pyspy.txt"
    seconds = max(2, int(args.duration))
    spy = subprocess.Popen([binary, "record", "--pid", str(service.proc.pid), "--gil", "--rate", "100",
                            "--duration", str(seconds), "--format", "raw", "--output", str(collapsed)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = ""
    try:
        say(f"profiling the service with py-spy for {seconds} s (this run is not reported)")
        requests = loadgen.build_requests(HOST, service.port, paths, auth)
        result = ev.run_until_complete(loadgen.run(HOST, service.port, requests, connections=args.connections,
                                                   warmup=0.5, duration=seconds + 1.5, expect=EXPECTED_BODY))
        _, err = spy.communicate(timeout=60)
    finally:
        if spy.poll() is None:
            spy.kill()
            spy.wait(timeout=5)
    if spy.returncode != 0 or not collapsed.exists():
        say(f"py-spy failed ({spy.returncode}): {err.strip()[-500:]}")
        return
    per_req = cpu_ms_per_request or 0.0
    print(f"\nWhere the service's CPU time goes (py-spy --gil, {result.rps:.0f} req/s while sampled; "
          f"{per_req:.3f} ms server CPU per request in the measured runs; stacks: "
          f"{collapsed.relative_to(REPO_ROOT)}):")
    print(f"{'share':>6} {'µs/req':>7}  activity")
    for share, name in categorise(collapsed):
        print(f"{share:>5.1f}% {share * per_req * 10:>7.0f}  {name}")
    print(f"\n{'self':>6}  innermost Python frame")
    for share, frame in top_self(collapsed):
        print(f"{share:>5.1f}%  {frame[:150]}")


def _commit() -> str | None:
    """HEAD (read-only git calls), with `+dirty` when services/ or shared/ have uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "services", "shared"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (head + ("+dirty" if dirty else "")) or None


if __name__ == "__main__":
    sys.exit(main())
