"""The end-to-end harness: the platform as separate OS processes on PostgreSQL.

Per test session: one fresh PostgreSQL database per service (unique names, dropped at the end),
migrated with the services' own Alembic migrations; a dev key pair (shared/devkeys.py); then
every service as its own `supportctl serve <name>` process (uvicorn, configured only by its
environment variables, wired exactly as `supportctl up` wires them: `dev_defaults`), plus the
payment provider's sandbox (`supportctl paysandbox`) and the development mail sink
(`supportctl mailsink`, one .eml file per message), each on a free port with its log in a file.

Tests talk to the processes over HTTP and SMTP only, and read the sandbox's API and the mail
sink's folder. A `Service` can be killed with SIGKILL (no grace) and started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Awaitable, Callable, Iterator, TypeVar
from zoneinfo import ZoneInfo

import httpx

from services.cli.devenv import DATA_DIR_ENV, MAILSINK_PORT_ENV, PAYSANDBOX_PORT_ENV, dev_defaults
from services.registry import SERVICES
from shared.devkeys import DEV_KID, ensure_dev_keys, mint_token
from shared.migrations import upgrade
from tests.support.databases import PG_ADMIN_DSN
from tests.support.postgres import create_database, database_url, drop_database
from tests.support.roundrobin import RoundRobin
from tests.support.served import free_port
from tests.support.waiting import until as wait_until

REPO = Path(__file__).resolve().parents[2]
WARSAW = ZoneInfo("Europe/Warsaw")
READY_TIMEOUT = 60.0
STOP_GRACE = 10.0
SANDBOX_KEY = "sk_test_dev"  # the sandbox's development API key (services/paysandbox/app.py)

# the sandbox's test instruments (README, services/paysandbox/scenarios.py)
CARD_OK, CARD_NO_FUNDS = "4242424242424242", "4000000000009995"
IBAN_OK, IBAN_NO_FUNDS = "PL61109010140000071219812874", "PL27114020040000300201355387"

T = TypeVar("T")


# ---- databases -------------------------------------------------------------------------------


class E2EDatabase:
    """One PostgreSQL database for one service, created empty and migrated to head."""

    def __init__(self, service: str, run_id: str) -> None:
        self.service = service
        self.name = f"e2e_{run_id}_{service}"
        self.url = database_url(PG_ADMIN_DSN, self.name)

    async def create(self) -> None:
        await create_database(PG_ADMIN_DSN, self.name)
        await asyncio.to_thread(upgrade, SERVICES[self.service].migrations, self.url)

    async def drop(self) -> None:
        await drop_database(PG_ADMIN_DSN, self.name)


# ---- processes -------------------------------------------------------------------------------


try:  # Linux: a child started here dies with this process, even when pytest itself is SIGKILLed
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
    _LIBC.prctl  # noqa: B018
except (OSError, AttributeError):
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child between fork and exec (no imports, no allocation worth mentioning)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Service:
    """One OS process of the platform: `supportctl <args>` with its own environment and log."""

    name: str
    args: list[str]
    env: dict[str, str]
    port: int
    log: Path
    probe: str = "http"  # "http": GET /readyz answers 200; "tcp": the port accepts connections
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.running(), f"{self.name} is already running"
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== e2e: start #{self.starts} of {self.name} at "
                      f"{datetime.now(timezone.utc).isoformat()} =====\n".encode())
            out.flush()
            # its own session: a Ctrl-C at the terminal reaches pytest, whose teardown stops it
            self.process = subprocess.Popen([sys.executable, "-m", "services.cli.main", *self.args], cwd=REPO,
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True, preexec_fn=_die_with_parent)

    def kill(self) -> None:
        """SIGKILL: no grace, no shutdown hooks, nothing flushed."""
        assert self.running(), f"{self.name} is not running"
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait()  # type: ignore[union-attr]
        self.kills += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== e2e: SIGKILL {self.name} (pid {self.pid}) at "
                      f"{datetime.now(timezone.utc).isoformat()} =====\n".encode())

    def stop(self) -> float:
        """SIGTERM, then SIGKILL after a grace period (teardown); returns the seconds it took."""
        if not self.running():
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        try:
            self.process.wait(timeout=STOP_GRACE)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()  # type: ignore[union-attr]
            with self.log.open("ab") as out:
                out.write(f"\n===== e2e: {self.name} ignored SIGTERM for {STOP_GRACE:.0f}s; killed =====\n".encode())
        return time.monotonic() - started

    async def ready(self) -> bool:
        if self.probe == "tcp":
            return await asyncio.to_thread(_port_open, self.port)
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                return (await client.get(f"{self.url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def alive(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                return (await client.get(f"{self.url}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds until ready; fails with the log's tail if the process dies or never gets there."""
        started = time.monotonic()
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode} while starting:\n"
                                     f"{self.tail()}")
            if await self.ready():
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{self.name} was not ready within {timeout:.0f}s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    async def restart(self) -> float:
        self.start()
        return await self.wait_ready()

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Temporarily sets variables in this process's environment (dev_defaults reads ports there)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_FOREIGN = tuple(spec.env_prefix for spec in SERVICES.values()) + ("PAYSANDBOX_", "SUPPORT_")


def base_environment() -> dict[str, str]:
    """This process's environment without anything that would configure a service elsewhere."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}


# ---- the platform ----------------------------------------------------------------------------


@dataclass
class Timings:
    rows: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, seconds: float) -> None:
        self.rows.append((what, seconds))

    def note(self, text: str) -> None:
        """Something a reader of the run should know (what a SIGKILL interrupted, which checks bit)."""
        self.notes.append(text)


class Platform:
    """The running platform and the ways a test may talk to it."""

    def __init__(self, root: Path, run_id: str, webhook_url: str, webhook_secret: str, *, replicas: int = 1,
                 extra_env: dict[str, str] | None = None) -> None:
        """`replicas` > 1: that many processes of every service on its one database, behind a
        loopback round-robin on the service's port (what peers, the sandbox and tests call);
        the replicas are `name`, `name-2`, …"""
        self.root, self.run_id = root, run_id
        self.keys = ensure_dev_keys(root / "keys")
        self.pem = self.keys[0].read_text()
        self.mail_dir = root / "mail"
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.databases = {name: E2EDatabase(name, run_id) for name in SERVICES}
        self.timings = Timings()
        ports = {name: free_port() for name in SERVICES}
        self.smtp_port, mailsink_port, sandbox_port = free_port(), free_port(), free_port()
        with _environ({**{f"{SERVICES[n].env_prefix}PORT": str(p) for n, p in ports.items()},
                       MAILSINK_PORT_ENV: str(mailsink_port), PAYSANDBOX_PORT_ENV: str(sandbox_port)}):
            wiring = dev_defaults(root)  # what `supportctl up` gives every service: keys, peers, event sinks
        env = {**base_environment(), **wiring, "PYTHONUNBUFFERED": "1", DATA_DIR_ENV: str(root)}
        for name, spec in SERVICES.items():
            p = spec.env_prefix
            env.update({
                f"{p}DATABASE_URL": self.databases[name].url,
                f"{p}LOG_FORMAT": "json",  # as deployed: tests/e2e/test_observability.py reads the access log
                f"{p}DB_POOL_SIZE": "5", f"{p}READ_POOL_SIZE": "4",
                # quick relays, and quick retries once a peer is back after a SIGKILL; a relay killed
                # mid-delivery holds its rows until their lease runs out (30 s by default): 5 s here,
                # where every delivery is local and takes milliseconds
                f"{p}RELAY_POLL_INTERVAL": "0.1", f"{p}RELAY_BACKOFF_BASE": "0.2", f"{p}RELAY_BACKOFF_MAX": "1.0",
                f"{p}RELAY_LEASE_SECONDS": "5",
            })
        env.update({
            "TICKETS_SMTP_LISTEN_PORT": str(self.smtp_port),
            "BILLING_CHARGE_INTERVAL": "0.2",
            # the CRM: billing's dunning notices as signed Standard Webhooks (README, "webhooks")
            "BILLING_WEBHOOKS": json.dumps({"e2e-crm": {"url": webhook_url, "secret": webhook_secret,
                                                        "events": ["contract.payment_overdue"]}}),
            # the sandbox settles half a second after a charge, and retries its webhooks quickly
            "PAYSANDBOX_PROCESSING_DELAY": "0.5", "PAYSANDBOX_WEBHOOK_BACKOFF_BASE": "0.1",
            "PAYSANDBOX_WEBHOOK_MAX_ATTEMPTS": "12",
        })
        env.update(extra_env or {})
        self.env = env
        self.fronts: dict[str, RoundRobin] = {}
        self.services: dict[str, Service] = {}
        for name in SERVICES:
            if replicas == 1:
                self.services[name] = Service(name, ["serve", name], env, ports[name], self.logs / f"{name}.log")
                continue
            replica_ports = [free_port() for _ in range(replicas)]
            self.fronts[name] = RoundRobin(ports[name], replica_ports)
            for n, port in enumerate(replica_ports, start=1):
                replica = name if n == 1 else f"{name}-{n}"
                own = env if n == 1 else {**env, "TICKETS_SMTP_LISTEN_PORT": str(free_port())}  # one listener each
                self.services[replica] = Service(replica, ["serve", name, "--port", str(port)], own, port,
                                                 self.logs / f"{replica}.log")
        self.services["paysandbox"] = Service("paysandbox", ["paysandbox", "--port", str(sandbox_port)], env,
                                              sandbox_port, self.logs / "paysandbox.log", probe="tcp")
        self.services["mailsink"] = Service("mailsink", ["mailsink", "--dir", str(self.mail_dir), "--port",
                                                         str(mailsink_port)], env, mailsink_port,
                                            self.logs / "mailsink.log", probe="tcp")
        self._clients: list[httpx.AsyncClient] = []

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        started = time.monotonic()
        for front in self.fronts.values():
            front.start()
        outside = ("paysandbox", "mailsink")  # no database: started at once
        for name in outside:
            self.services[name].start()
        for db in self.databases.values():  # one after another: the migration runner is not re-entrant
            await db.create()
        self.timings.add("platform: 3 databases created and migrated (sandbox, mail sink starting)",
                         time.monotonic() - started)
        for name, service in self.services.items():
            if name not in outside:
                service.start()
        # entitlements is ready once it has a catalogue: the demo one, loaded over its admin API as soon
        # as it answers at all
        from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file

        entitlements = self.services["entitlements"]
        await until(entitlements.alive, "entitlements to answer /healthz", READY_TIMEOUT)
        loaded = await self.client("entitlements", "admin").post(
            "/v1/catalogue", json=read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json"))
        assert loaded.status_code == 200, loaded.text
        await asyncio.gather(*(s.wait_ready() for s in self.services.values()))
        self.timings.add("platform: … then 3 services started, catalogue loaded, all 5 processes ready "
                         "(cumulative)", time.monotonic() - started)

    async def stop(self) -> None:
        for client in self._clients:
            await client.aclose()
        took = await asyncio.gather(*(asyncio.to_thread(s.stop) for s in self.services.values()))
        self.timings.add("platform: stop (SIGTERM) " + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in zip(self.services, took)), max(took, default=0.0))
        for front in self.fronts.values():
            front.stop()
        for db in self.databases.values():
            await db.drop()

    def url(self, service: str) -> str:
        """Where callers reach a service: its round-robin when it has replicas."""
        front = self.fronts.get(service)
        return f"http://127.0.0.1:{front.port}" if front else self.services[service].url

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def logs_tail(self, chars: int = 3000) -> str:
        return "\n".join(f"----- {s.name} ({s.log}) -----\n{s.tail(chars)}" for s in self.services.values())

    # -- talking to it ---------------------------------------------------------------------

    def token(self, role: str, customer_id: str | None = None, sub: str | None = None) -> str:
        return mint_token(self.pem, kid=DEV_KID, issuer="supportctl-dev", audience="support-platform",
                          subject=sub or f"e2e-{role}", role=role, customer_id=customer_id)

    def client(self, service: str, role: str | None = None, customer_id: str | None = None,
               sub: str | None = None) -> httpx.AsyncClient:
        if service == "paysandbox":
            headers = {"authorization": f"Bearer {SANDBOX_KEY}"}
        else:
            headers = {"authorization": f"Bearer {self.token(role, customer_id, sub)}"} if role else {}
        client = httpx.AsyncClient(base_url=self.url(service), headers=headers, timeout=20)
        self._clients.append(client)
        return client

    async def outbox_pending(self, service: str) -> float:
        """Events of `service` not yet delivered to every sink (its /metrics gauge)."""
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{self.services[service].url}/metrics")).text
        for line in text.splitlines():
            if line.startswith("outbox_pending_messages{"):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{service} exposes no outbox_pending_messages gauge")

    async def drained(self, *services: str, timeout: float = 20.0) -> None:
        """Waits until every event these services emitted so far has reached its consumers."""
        for service in services:
            async def empty(service: str = service) -> bool:
                return await self.outbox_pending(service) == 0
            await until(empty, f"{service}'s outbox to be delivered", timeout)

    def mails(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            found.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        return found  # type: ignore[return-value]

    def mails_about(self, ticket_id: str) -> list[EmailMessage]:
        return [m for m in self.mails() if f"[#{ticket_id}]" in str(m["Subject"])]


async def until(probe: Callable[[], Awaitable[T]], what: str, timeout: float = 20.0, interval: float = 0.1) -> T:
    """The shared wait with the whole platform's patience (five processes on PostgreSQL)."""
    return await wait_until(probe, what, timeout, interval)


# ---- dates -----------------------------------------------------------------------------------


def warsaw_today() -> date:
    return datetime.now(WARSAW).date()


def next_month_first(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def in_charge_window(first: date) -> datetime:
    """9:00 in Warsaw on the first day of a period: inside R-B4's charge window (which runs from
    24 h before the month starts through its third business day)."""
    return datetime.combine(first, dtime(9, 0), WARSAW)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
