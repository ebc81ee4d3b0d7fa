"""Browser tests of the agent SPA: Debian's Chromium (never a downloaded browser) driven headless by
Playwright's async API, in the suite's one asyncio loop, against the real tickets app served by
uvicorn on a loopback port, with entitlements over real HTTP and data seeded through the APIs.

Without Chromium the tests skip and say how to install it, except under CI=true, where they fail.
Screenshots land in test-artifacts/screenshots/ at the repository root."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.entitlements.main import create_app as create_entitlements
from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file
from services.entitlements.settings import EntitlementsSettings
from services.tickets.main import create_app as create_tickets
from services.tickets.models import metadata as tickets_metadata
from services.tickets.settings import TicketsSettings
from shared.devkeys import DEV_KID, mint_token
from shared.settings import EventSink
from tests.entitlements.helpers import purchase_body
from tests.support.clients import ClientPool
from tests.support.receiver import EventReceiver
from tests.support.served import Served, free_port

WARSAW = ZoneInfo("Europe/Warsaw")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
_saved: list[Path] = []


def at(text: str) -> datetime:
    """An instant in Warsaw local time: at("2026-11-23 13:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW)


# ---- the browser ---------------------------------------------------------------------------------

def chromium_path() -> str:
    """$CHROMIUM, else Debian's /usr/bin/chromium; skipped (failed under CI=true) when missing."""
    candidate = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    found = shutil.which(candidate) if not os.path.isabs(candidate) else candidate
    if found and os.path.isfile(found) and os.access(found, os.X_OK):
        return found
    message = (f"no Chromium at {candidate}: the agent SPA's browser tests need Debian's Chromium; install it "
               "with: apt-get install chromium (or set CHROMIUM to a Chromium binary). Browsers are never "
               "downloaded by the tests (no `playwright install`).")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " Under CI=true these tests must run.", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        message = "the Python `playwright` package is missing: pip install -e '.[dev]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[Any]:
    ctx = await browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Warsaw", locale="en-GB",
                                    service_workers="block")
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@dataclass
class PageLog:
    """What the page did besides rendering: requests (nothing may leave for another origin),
    uncaught errors and CSP violations (both must stay empty)."""
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
async def page(context: Any) -> AsyncIterator[Any]:
    pg = await context.new_page()
    log = PageLog()
    pg.on("request", lambda request: log.requests.append(request.url))
    pg.on("pageerror", lambda error: log.errors.append(f"uncaught: {error}"))
    pg.on("console", lambda msg: log.errors.append(f"console: {msg.text}")
          if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
    pg.log = log
    yield pg
    await pg.close()


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    _saved.append(path)
    print(f"screenshot: {path}")
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _saved:
        terminalreporter.section("agent SPA screenshots")
        for path in _saved:
            terminalreporter.write_line(str(path))


# ---- the system under test -----------------------------------------------------------------------

class RunningClock:
    """A clock that runs like a wall clock from an instant the test chooses: the SPA's countdowns
    move for real while the business day is the one the test needs (Monday within support hours)."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, when: datetime) -> None:
        self._base, self._t0 = when.astimezone(timezone.utc), time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._t0)


@pytest.fixture
def clock() -> RunningClock:  # replaces the suite's FixedClock for these tests
    return RunningClock(at("2026-11-23 08:00"))


@pytest.fixture
def tickets_overrides() -> dict[str, Any]:
    return {}


class Desk(ClientPool):
    """The tickets app on a real port (restartable: the connection-loss test stops and starts the
    HTTP server, not the app), entitlements behind it, tokens and the seeded tickets' ids."""

    def __init__(self, app: Any, settings: TicketsSettings, pem: str, clock: RunningClock, port: int) -> None:
        super().__init__()
        self.app, self.settings, self.pem, self.clock, self.port = app, settings, pem, clock, port
        self.server: Served | None = None
        self.ids: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self) -> None:
        self.server = Served(self.app, port=self.port)
        await self.server.start()

    async def stop_serving(self) -> None:
        assert self.server is not None
        await self.server.stop()
        self.server = None

    def token(self, role: str, sub: str) -> str:
        return mint_token(self.pem, kid=DEV_KID, issuer=self.settings.jwt_issuer,
                          audience=self.settings.jwt_audience, subject=sub, role=role)

    def client(self, role: str = "crm", sub: str | None = None) -> httpx.AsyncClient:
        return self.pooled(self.token(role, sub or f"test-{role}"), base_url=self.url, timeout=30)


@pytest.fixture
async def desk(browser: Any, stores: Any, settings: EntitlementsSettings, keys: tuple[Path, Path],
               clock: RunningClock, receiver: EventReceiver, tickets_overrides: dict[str, Any]
               ) -> AsyncIterator[Desk]:
    # `browser` first: without Chromium the test skips before any server starts
    private, jwks = keys
    ent_settings = settings.model_copy(update={"event_sinks": {}})
    async with Served(create_entitlements(ent_settings, clock=clock), lifespan="on") as ent_url:
        tickets_settings = TicketsSettings(**{**dict(
            environment="test", database_url=await stores.fresh_url("tickets", tickets_metadata), jwks_file=jwks,
            signing_key_file=private, signing_key_id=DEV_KID, entitlements_url=ent_url, relay_poll_interval=0.05,
            relay_backoff_base=0.01, relay_backoff_max=0.05, sla_scan_interval=0, entitlement_cache_seconds=0,
            smtp_listen_port=0, mail_outbound_enabled=False,
            event_sinks={"consumer": EventSink(url=receiver.url, events=["*"])},
        ), **tickets_overrides})
        app = create_tickets(tickets_settings, clock=clock)
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
            d = Desk(app, tickets_settings, private.read_text(), clock, free_port())
            ent = httpx.AsyncClient(base_url=ent_url, timeout=30, headers={
                "authorization": f"Bearer {d.token('admin', 'test-admin')}"})
            try:
                loaded = await ent.post("/v1/catalogue",
                                        json=read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json"))
                assert loaded.status_code == 200, loaded.text
                await d.serve()
                await seed(d, ent)
                yield d
            finally:
                await ent.aclose()
                await d.close()
                if d.server is not None:
                    await d.stop_serving()


# ---- seeded data, all through the public APIs ---------------------------------------------------

async def _contract(ent: httpx.AsyncClient, customer_id: str, plan_id: str) -> dict[str, Any]:
    product = "sage" if plan_id.startswith("sage") else "office365"
    reference = f"lic-{uuid.uuid4().hex[:8]}"
    mode = "addon"
    if product == "sage":
        await ent.post(f"/v1/customers/{customer_id}/licences", json={"product": "sage", "reference": reference})
        mode = "standalone"
    bought = await ent.post("/v1/purchases", headers={"Idempotency-Key": str(uuid.uuid4())}, json=purchase_body(
        customer_id=customer_id, plan_id=plan_id, mode=mode, product=product, reference=reference))
    assert bought.status_code == 201, bought.text
    activated = await ent.post(f"/v1/contracts/{bought.json()['id']}/activate")
    assert activated.status_code == 200, activated.text
    return activated.json()


async def _ticket(d: Desk, when: str, customer_id: str, subject: str, **overrides: Any) -> str:
    d.clock.set(at(when))
    body = {"customer_id": customer_id, "product": "office365-support", "subject": subject,
            "description": f"{subject}: it started this morning for the whole team; details in the thread.",
            "category": "basic_config_help", "channel": "api",
            "contact": {"name": "Anna Nowak", "email": "anna@contoso.pl", "phone": "+48 600 100 200"}, **overrides}
    response = await d.client("crm").post("/v1/tickets", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def seed(d: Desk, ent: httpx.AsyncClient) -> None:
    """Monday 23 Nov 2026. o365-standard: 4 business hours (08:30-16:30); sage-warranty-vip: 9
    (08:00-17:00), priority dialing, callbacks and remote help. At 13:00 (the clock then runs on):
    `breached` was due 12:30; `warning` due 13:45 has used 81 %; `running` is due Tue 08:45;
    `paused` waits for the customer; `vip` (high priority, internal note, a callback) is due Tue
    11:00; `met` had a remote session and a complaint."""
    await _contract(ent, "cust-std", "o365-standard")
    await _contract(ent, "cust-vip", "sage-warranty-vip")
    crm, agent = d.client("crm"), d.client("agent", "agent-ola")
    ids = d.ids
    ids["breached"] = await _ticket(d, "2026-11-23 08:30", "cust-std", "Outlook cannot send mail")
    ids["warning"] = await _ticket(d, "2026-11-23 09:45", "cust-std", "Teams calls drop after five minutes")
    ids["paused"] = await _ticket(d, "2026-11-23 10:00", "cust-std", "Licence shows as expired")
    d.clock.set(at("2026-11-23 10:30"))
    asked = await agent.post(f"/v1/tickets/{ids['paused']}/request-details",
                             json={"body": "Please send a screenshot of the licence page."})
    assert asked.status_code == 200, asked.text
    sage = {"product": "sage-warranty", "category": "remote_help"}
    ids["vip"] = await _ticket(d, "2026-11-23 11:00", "cust-vip", "Symfonia closes when posting invoices", **sage)
    d.clock.set(at("2026-11-23 11:10"))
    note = await agent.post(f"/v1/tickets/{ids['vip']}/messages", json={
        "body": "Seen this with the 2026.1 update; check the posting template first.", "visibility": "internal"})
    assert note.status_code == 201, note.text
    d.clock.set(at("2026-11-23 11:15"))
    callback = await crm.post("/v1/callbacks", json={
        "customer_id": "cust-vip", "product": "sage-warranty", "ticket_id": ids["vip"],
        "calling_number": "+48 600 100 200", "order_number": "+48 22 555 01 02", "contact_email": "biuro@firma.pl"})
    assert callback.status_code == 201, callback.text
    ids["callback"] = callback.json()["id"]
    ids["met"] = await _ticket(d, "2026-11-23 11:30", "cust-vip", "Backup of the Symfonia database fails", **sage)
    d.clock.set(at("2026-11-23 12:10"))
    remote = await agent.post(f"/v1/tickets/{ids['met']}/remote-sessions", json={
        "started_at": at("2026-11-23 11:40").isoformat(), "minutes": 20, "program": "Symfonia Finanse i Księgowość"})
    assert remote.status_code == 201, remote.text
    d.clock.set(at("2026-11-23 12:30"))
    complaint = await crm.post("/v1/complaints", json={
        "customer_id": "cust-vip", "subject": "The remote session ended before the backup was checked",
        "description": "The consultant disconnected before we could confirm the backup ran.",
        "ticket_id": ids["met"]})
    assert complaint.status_code == 201, complaint.text
    ids["complaint"] = complaint.json()["id"]
    ids["running"] = await _ticket(d, "2026-11-23 12:45", "cust-std", "SharePoint permissions reset")
    supervisor = d.client("supervisor", "sup-ewa")
    window = await supervisor.post("/v1/outage-windows", json={
        "kind": "force_majeure", "starts_at": at("2026-11-20 08:00").isoformat(),
        "ends_at": at("2026-11-20 10:00").isoformat(), "products": ["sage-warranty"],
        "description": "Sage licence server outage (vendor side)"})
    assert window.status_code == 201, window.text
    d.clock.set(at("2026-11-23 13:00"))
    scan = await supervisor.post("/v1/sla/scan", json={"as_of": at("2026-11-23 13:00").isoformat()})
    assert scan.status_code == 200, scan.text
    assert scan.json()["breached"] == [ids["breached"]] and scan.json()["warned"] == [ids["warning"]], scan.json()
