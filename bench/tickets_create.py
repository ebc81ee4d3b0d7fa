"""Ticket-creation throughput of the tickets service vs a FastAPI baseline that verifies the JWT
and inserts one row.

    python -m bench.tickets_create [--duration 10] [--warmup 2] [--connections 32] [--rounds 3]

Creates two throw-away PostgreSQL databases (tickets, entitlements), migrates them, loads the demo
catalogue, starts the entitlements service and seeds customers with an active `o365-standard`
contract over HTTP, then starts the tickets service (pointed at that entitlements service, outbox
relay on) and `bench/jwt_insert_app.py` as uvicorn processes (one worker each, same flags), and
loads `POST /v1/tickets` (a new `Idempotency-Key` per request, customers round-robin) on both,
alternately. Prints req/s, p50 and p99 of each, the median over the rounds and the ratio
service ÷ baseline (target ≥ 0.5). A measurement, not a test: the exit status does not depend on
the figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from typing import Callable

import httpx

from bench import common
from bench.common import HOST, Bench, Target

PRODUCT, CATEGORY = "office365-support", "basic_config_help"
TARGET_RATIO = 0.5
EXPECTED_STATUS = 201
EXPECTED_BODY = b'"status":"new"'  # both answer the created ticket

# The tickets service's settings that differ from its defaults (everything else is the default,
# or what TICKETS_* in the caller's environment says).
TICKETS_OVERRIDES = {
    "TICKETS_EVENT_SINKS": "{}",  # events stay in the outbox and are marked delivered at once
    "TICKETS_MAIL_OUTBOUND_ENABLED": "false",  # likewise the e-mail sink: the bench has no SMTP relay
    "TICKETS_RELAY_ENABLED": "true",  # the relay runs: part of the cost of a create
    "TICKETS_SLA_SCAN_INTERVAL": "0",  # no background SLA scan during the runs
}

# Where a sample's time goes, by request phase: the first needle found anywhere in the stack,
# in this order; then the innermost frame's library. SQLAlchemy runs the synchronous ORM work of
# an `AsyncSession` call in a greenlet whose stack py-spy shows without the caller's frames: those
# samples are told apart by the greenlet's root (the last three phases before the libraries).
PHASES: common.Categories = [
    ("outbox relay (background task, woken after each commit)", ("run_forever (shared/outbox.py",)),
    ("JWT verification (shared/auth.py)", ("(shared/auth.py",)),
    ("idempotency: re-read the key + store the response (respond)",
     ("Idempotency.respond (shared/web/idempotency.py",)),
    ("idempotency: body + fingerprint + look-up + INSERT in a SAVEPOINT (begin)",
     ("(shared/web/idempotency.py",)),
    ("entitlements look-up (services/tickets/clients.py: cache, HTTP)", ("(services/tickets/clients.py",)),
    ("SLA due times (business calendar)", ("(services/tickets/service/sla.py", "(shared/business_time.py")),
    ("TicketService.file: policy, ORM objects, 3 flushes, outbox event", ("TicketService.file (",)),
    ("response: ticket_detail (2 queries: messages, attachments; models)", ("ticket_detail (services/tickets",)),
    ("commit + session close (unit of work, shared/uow.py)", ("unit_of_work (shared/web/uow.py",)),
    ("request body: JSON + TicketIn validation", ("request_body_to_args", "Request.json (")),
    ("ORM flush in a greenlet (INSERT/UPDATE building, persistence; caller not visible)",
     ("Session.flush (sqlalchemy/orm/session.py",)),
    ("ORM execute in a greenlet (SELECT compile, cache key, row loading; caller not visible)",
     ("Session.execute (sqlalchemy/orm/session.py",)),
    ("ORM commit / SAVEPOINT release / close in a greenlet (caller not visible)",
     ("commit (sqlalchemy/orm/session.py", "TransactionalContext.__exit__",
      "Session.close (sqlalchemy/orm/session.py")),
]
PHASE_LIBRARIES: list[tuple[str, str]] = [
    ("edge middleware: request id, metrics (shared/middleware.py)", "(shared/middleware.py"),
    ("FastAPI/Starlette routing, dependency solving, response", "(fastapi/"),
    ("FastAPI/Starlette routing, dependency solving, response", "(starlette/"),
    ("uvicorn HTTP protocol", "(uvicorn/"),
]
# The same samples by kind of work.
WORK: common.Categories = [
    *common.BASE_ACTIVITIES,
    ("HTTP client to entitlements (httpx)", ("(httpx/", "(httpcore/", "(httpx_retries/")),
    ("SQLAlchemy ORM flush (INSERT building, persistence)", ("Session._flush (", "(sqlalchemy/orm/persistence.py",
                                                            "(sqlalchemy/orm/unitofwork.py")),
    ("SQLAlchemy compile + cache key", ("_compile_w_cache",)),
    ("SQLAlchemy ORM row loading", ("(sqlalchemy/orm/loading.py",)),
    ("SQLAlchemy commit / SAVEPOINT / session close",
     ("Session.commit (", "begin_nested", "Session.close (", "AsyncSession.close (")),
    ("jsonable_encoder", ("jsonable_encoder",)),
]


def ticket_body(customer: str, i: int) -> dict[str, object]:
    return {"customer_id": customer, "product": PRODUCT, "subject": f"Bench ticket of customer {i}",
            "description": "Since Monday every Teams call of the sales team drops after about five minutes; "
                           "the admin centre shows no incident.",
            "category": CATEGORY, "channel": "api",
            "contact": {"name": "Anna Nowak", "email": f"anna+{i}@example.com"}}


def ticket_requests(port: int, customers: list[str], token: str) -> Callable[[], Callable[[int], bytes]]:
    """Per run, a factory of `POST /v1/tickets` number i: the customers round-robin, each request
    with its own Idempotency-Key `bench-<run>-<i>` (<run> is new for every run). Everything but
    the key is prepared once."""
    parts = []
    for i, customer in enumerate(customers):
        body = json.dumps(ticket_body(customer, i), separators=(",", ":")).encode()
        head = (f"POST /v1/tickets HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n"
                "Idempotency-Key: ").encode("latin-1")
        parts.append((head, b"\r\n\r\n" + body))
    n = len(parts)

    def for_one_run() -> Callable[[int], bytes]:
        prefix = f"bench-{uuid.uuid4().hex[:12]}-"

        def request(i: int) -> bytes:
            head, tail = parts[i % n]
            return head + f"{prefix}{i}".encode() + tail

        return request

    return for_one_run


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args("bench.tickets_create", __doc__, "the tickets service", argv)
    return common.main_guard(lambda bench: _run(args, bench))


def _run(args: argparse.Namespace, bench: Bench) -> int:
    from services import registry
    from shared.devkeys import ensure_dev_keys

    # 1. two fresh databases, migrated: the entitlements service's and the tickets service's (which
    #    the baseline's table shares)
    ent_db = bench.database("bench_tickets_ent", registry.get("entitlements").migrations)
    db = bench.database("bench_tickets", registry.get("tickets").migrations)

    # 2. dev keys; entitlements with its catalogue and customers
    tmp = bench.temp_dir("bench-tickets-")
    private_key, jwks = ensure_dev_keys(tmp / "keys")
    os.environ.update(common.entitlements_env(tmp, ent_db.url, private_key, jwks))
    common.load_catalogue(dict(os.environ))
    entitlements = bench.server("entitlements", "services.entitlements.main:create_app", dict(os.environ), tmp,
                                "/readyz")

    from services.entitlements.settings import EntitlementsSettings

    customers = common.seed_customers(bench, entitlements, args.customers,
                                      common.token_minter(private_key, EntitlementsSettings(), args))

    # 3. the tickets service and the baseline, started the same way, with the same TICKETS_*
    os.environ.update({"TICKETS_DATABASE_URL": db.url, "TICKETS_JWKS_FILE": str(jwks),
                       "TICKETS_SIGNING_KEY_FILE": str(private_key), "TICKETS_ENTITLEMENTS_URL": entitlements.url,
                       # the SMTP listener runs, as by default, on a free port (2525 may be taken by a dev instance)
                       "TICKETS_SMTP_LISTEN_PORT": str(common.free_port()), **TICKETS_OVERRIDES})
    env = dict(os.environ)
    baseline = bench.server("baseline", "bench.jwt_insert_app:create_app", env, tmp, "/healthz")
    service = bench.server("service", "services.tickets.main:create_app", env, tmp, "/readyz")

    from services.tickets.settings import TicketsSettings

    settings = TicketsSettings()
    writer = common.token_minter(private_key, settings, args)("crm")
    for server in (baseline, service):  # one plain request each, so a broken set-up shows before the load
        r = httpx.post(f"{server.url}/v1/tickets", json=ticket_body(customers[0], 0), timeout=10, headers={
            "Authorization": f"Bearer {writer}", "Idempotency-Key": f"bench-check-{uuid.uuid4().hex}"})
        common.say(f"{server.name} answers {r.status_code} {r.text[:160]}…")
        if r.status_code != EXPECTED_STATUS or EXPECTED_BODY not in r.content:
            raise RuntimeError(f"{server.name} does not file the ticket as expected: {r.status_code} {r.text[:300]}")

    # 4. the runs: baseline, service, baseline, service, ...
    targets = [
        Target("baseline", baseline, ticket_requests(baseline.port, customers, writer),
               common.cpu_probe({"server": baseline.proc.pid}, [db.name])),
        Target("service", service, ticket_requests(service.port, customers, writer),
               common.cpu_probe({"server": service.proc.pid, "entitlements": entitlements.proc.pid},
                                [db.name, ent_db.name]), also_alive=(entitlements,)),
    ]
    runs = common.alternate(bench, targets, args, expect=EXPECTED_BODY, expect_status=EXPECTED_STATUS)

    medians = {t: common.median_of(rs) for t, rs in runs.items()}
    ratio = common.ratio_of(medians)
    info = {"postgres": bench.postgres_version, "loop": bench.loop_impl, "http": bench.http_impl,
            "connections": args.connections, "customers": args.customers, "rounds": args.rounds,
            "duration_s": args.duration, "warmup_s": args.warmup}
    request = "POST /v1/tickets (a new Idempotency-Key per request, customers round-robin, crm token)"
    common.print_report("Ticket creation vs JWT + one INSERT baseline", request, info, runs, medians, ratio,
                        TARGET_RATIO)
    ent_cpu = medians["service"].get("entitlements_cpu_ms_per_request")
    rows = bench.run(_row_counts(db))
    print(f"(service runs: entitlements process {common.format_cpu(ent_cpu, 'ms')} CPU per ticket — answers are cached "
          f"{settings.entitlement_cache_seconds:g} s per customer; pg CPU/req includes both databases)")
    print("rows in the tickets database after the runs (warm-ups and checks included): "
          + ", ".join(f"{k} {v}" for k, v in rows.items()))
    if rows.get("outbox not delivered"):
        print(f"!!! {rows['outbox not delivered']} outbox rows were not delivered (expected 0 with no event sinks): "
              "the service routes events to a sink the bench does not disable, and its relay is retrying them")
    common.write_document(bench, "tickets_create", request=request, info=info, config={
        "uvicorn_args": service.args[3:], "workers": 1, "token_role": "crm",
        "tickets_settings": {"db_pool_size": settings.db_pool_size, "relay_enabled": settings.relay_enabled,
                             "event_sinks": {}, "sla_scan_interval": settings.sla_scan_interval,
                             "entitlement_cache_seconds": settings.entitlement_cache_seconds,
                             "overrides": TICKETS_OVERRIDES},
        "baseline_pool": f"asyncpg min {settings.db_pool_size}, max {2 * settings.db_pool_size}"},
        runs=runs, medians=medians, ratio=ratio, target_ratio=TARGET_RATIO, extra={"rows_after": rows})

    if args.profile:
        common.profile(bench, targets[1], args, expect=EXPECTED_BODY, expect_status=EXPECTED_STATUS,
                       cpu_ms_per_request=medians["service"].get("server_cpu_ms_per_request"),
                       name="tickets_create", tables=[("request phase", PHASES, PHASE_LIBRARIES),
                                                      ("kind of work", WORK, common.LIBRARIES)],
                       rest="other: event loop, stdlib, native code without a Python frame")
    return 0


async def _row_counts(db: common.BenchDatabase) -> dict[str, int]:
    queries = {
        "ticket": "SELECT count(*) FROM ticket",
        "bench_ticket": "SELECT count(*) FROM bench_ticket",
        "idempotency_key": "SELECT count(*) FROM idempotency_key",
        "outbox": "SELECT count(*) FROM outbox",
        "outbox not delivered": "SELECT count(*) FROM outbox WHERE delivered_at IS NULL",
    }
    return {name: int(value) for name, value in (await db.fetchvals(queries)).items()}


if __name__ == "__main__":
    sys.exit(main())
