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
import os
import sys

import httpx

from bench import common, loadgen
from bench.common import HOST, Bench, Target

PRODUCT, FEATURE = "office365-support", "remote_diagnostics"
TARGET_RATIO = 0.6
EXPECTED_BODY = b'"allowed":true'

# Where a sample's time goes. First the named activities, matched anywhere in the stack (in this
# order); then, for the rest, the innermost frame's library (common.LIBRARIES).
ACTIVITIES: common.Categories = [
    *common.BASE_ACTIVITIES,
    ("sync `def` dependency sent to the threadpool", ("run_in_threadpool",)),
    ("SQLAlchemy compile + cache key", ("_compile_w_cache",)),
    ("SQLAlchemy ORM row loading", ("(sqlalchemy/orm/loading.py",)),
    ("response validation + JSON", ("serialize_response",)),
]


def check_path(customer: str) -> str:
    return f"/v1/customers/{customer}/entitlements/check?product={PRODUCT}&feature={FEATURE}"


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args("bench.entitlements_check", __doc__, "the service", argv)
    return common.main_guard(lambda bench: _run(args, bench))


def _run(args: argparse.Namespace, bench: Bench) -> int:
    from services import registry
    from shared.devkeys import ensure_dev_keys

    # 1. a fresh database, migrated
    db = bench.database("bench_entitlements", registry.get("entitlements").migrations)

    # 2. dev keys and the environment of every process (the service reads ENTITLEMENTS_*)
    tmp = bench.temp_dir("bench-entitlements-")
    private_key, jwks = ensure_dev_keys(tmp / "keys")
    os.environ.update(common.entitlements_env(tmp, db.url, private_key, jwks))
    env = dict(os.environ)

    # 3. the catalogue, by the CLI (`supportctl catalogue load`)
    common.load_catalogue(env)

    # 4. both servers, started the same way
    baseline = bench.server("baseline", "bench.jwt_only_app:create_app", env, tmp, "/healthz")
    service = bench.server("service", "services.entitlements.main:create_app", env, tmp, "/readyz")

    # 5. tokens and data
    from services.entitlements.settings import EntitlementsSettings

    settings = EntitlementsSettings()
    token = common.token_minter(private_key, settings, args)
    customers = common.seed_customers(bench, service, args.customers, token)

    paths = [check_path(c) for c in customers]
    auth = {"Authorization": f"Bearer {token('crm')}"}
    for server in (baseline, service):  # one plain request each, so a broken set-up shows before the load
        r = httpx.get(f"{server.url}{paths[0]}", headers=auth, timeout=10)
        common.say(f"{server.name} answers {r.status_code} {r.text}")
        if r.status_code != 200 or EXPECTED_BODY not in r.content:
            raise RuntimeError(f"{server.name} does not answer the check as expected: {r.status_code} {r.text[:300]}")

    # 6. the runs: baseline, service, baseline, service, ...
    def target(server: common.Server, databases: list[str]) -> Target:
        requests = loadgen.build_requests(HOST, server.port, paths, auth)
        return Target(server.name, server, lambda: requests, common.cpu_probe({"server": server.proc.pid}, databases))

    targets = [target(baseline, []), target(service, [db.name])]
    runs = common.alternate(bench, targets, args, expect=EXPECTED_BODY, expect_status=200)

    medians = {t: common.median_of(rs) for t, rs in runs.items()}
    ratio = common.ratio_of(medians)
    info = {"postgres": bench.postgres_version, "loop": bench.loop_impl, "http": bench.http_impl,
            "connections": args.connections, "customers": args.customers, "rounds": args.rounds,
            "duration_s": args.duration, "warmup_s": args.warmup}
    request = f"GET {check_path('{customer_id}')}"
    common.print_report("Entitlement check vs JWT-only baseline", request, info, runs, medians, ratio, TARGET_RATIO)
    common.write_document(bench, "entitlements_check", request=request, info=info, config={
        "uvicorn_args": service.args[3:], "workers": 1, "db_pool_size": settings.db_pool_size, "token_role": "crm"},
        runs=runs, medians=medians, ratio=ratio, target_ratio=TARGET_RATIO)

    if args.profile:
        common.profile(bench, targets[1], args, expect=EXPECTED_BODY, expect_status=200,
                       cpu_ms_per_request=medians["service"].get("server_cpu_ms_per_request"),
                       name="entitlements_check", tables=[("activity", ACTIVITIES, common.LIBRARIES)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
