"""Fixtures: every test runs once on SQLite and once on PostgreSQL (`backend`), against the
service's public HTTP API, with an injected clock and real relayed events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import AsyncIterator, Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.entitlements.main import create_app
from services.entitlements.models import metadata as entitlements_metadata
from services.entitlements.settings import EntitlementsSettings
from services.registry import SERVICES
from services.registry import get as service_spec
from shared.clock import FixedClock
from shared.devkeys import DEV_KID, ensure_dev_keys, mint_token
from shared.settings import EventSink
from tests.support.databases import (
    PostgresDatabase, SqliteTemplate, postgres_available, skip_or_fail_without_postgres,
)
from tests.support.clients import ClientPool
from tests.support.receiver import EventReceiver

WARSAW = ZoneInfo("Europe/Warsaw")
START = datetime(2026, 11, 21, 10, 0, tzinfo=WARSAW)  # Saturday 21 Nov 2026, the R-B7 example's date


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_dev_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


class Stores:
    """One migrated database per service for the session's backend."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend, self.folder = backend, folder
        self.by_service: dict[str, SqliteTemplate | PostgresDatabase] = {}

    async def create(self, service: str) -> None:
        migrations = service_spec(service).migrations
        store: SqliteTemplate | PostgresDatabase = (
            SqliteTemplate(self.folder, service) if self.backend == "sqlite" else PostgresDatabase(service))
        await store.create(migrations)
        self.by_service[service] = store

    async def fresh_url(self, service: str, metadata) -> str:  # type: ignore[no-untyped-def]
        store = self.by_service[service]
        if isinstance(store, SqliteTemplate):
            return store.fresh()
        await store.truncate(metadata)
        return store.url

    async def drop(self) -> None:
        for store in self.by_service.values():
            if isinstance(store, PostgresDatabase):
                await store.drop()


@pytest.fixture(scope="session")
async def stores(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stores]:
    if backend == "postgres":
        problem = await postgres_available()
        if problem:
            skip_or_fail_without_postgres(problem)
    found = Stores(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    for service in SERVICES:
        await found.create(service)
    yield found
    await found.drop()


@pytest.fixture
async def database_url(stores: Stores) -> str:
    return await stores.fresh_url("entitlements", entitlements_metadata)


@pytest.fixture
def postgres_only(backend: str) -> None:
    """Marks a test as meaningful on PostgreSQL only (concurrency, SKIP LOCKED); its SQLite
    variant is deselected at collection (see below), not skipped."""
    assert backend == "postgres"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        sqlite_variant = callspec is not None and callspec.params.get("backend") == "sqlite"
        (drop if sqlite_variant and "postgres_only" in getattr(item, "fixturenames", ()) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[EventReceiver]:
    rx = EventReceiver()
    await rx.start()
    yield rx
    await rx.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(database_url: str, keys: tuple[Path, Path], receiver: EventReceiver) -> EntitlementsSettings:
    private, jwks = keys
    receiver.reset()
    return EntitlementsSettings(
        environment="test", database_url=database_url, jwks_file=jwks, signing_key_file=private,
        signing_key_id=DEV_KID, relay_poll_interval=0.05, relay_backoff_base=0.01, relay_backoff_max=0.05,
        db_pool_size=12, event_sinks={"consumer": EventSink(url=receiver.url, events=["*"])},
    )


class Api(ClientPool):
    """Clients for the app under test, one per role."""

    def __init__(self, app: object, settings: EntitlementsSettings, private_key: Path, clock: FixedClock) -> None:
        super().__init__()
        self.app, self.settings, self.clock = app, settings, clock
        self._pem = private_key.read_text()

    def token(self, role: str, customer_id: str | None = None, **kw: object) -> str:
        return mint_token(self._pem, kid=DEV_KID, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience,
                          subject=kw.pop("sub", f"test-{role}"), role=role, customer_id=customer_id, **kw)  # type: ignore[arg-type]

    def client(self, role: str | None = None, customer_id: str | None = None, token: str | None = None
               ) -> httpx.AsyncClient:
        return self.pooled(token or (self.token(role, customer_id) if role else None),
                            transport=httpx.ASGITransport(app=self.app), base_url="http://entitlements")  # type: ignore[arg-type]


@pytest.fixture
async def api(settings: EntitlementsSettings, keys: tuple[Path, Path], clock: FixedClock) -> AsyncIterator[Api]:
    app = create_app(settings, clock=clock)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        admin = Api(app, settings, keys[0], clock)
        from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file

        body = read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json")
        response = await admin.client("admin").post("/v1/catalogue", json=body)
        assert response.status_code == 200, response.text
        yield admin
        await admin.close()


@pytest.fixture
def shop(api: Api) -> httpx.AsyncClient:
    return api.client("shop")


@pytest.fixture
def admin(api: Api) -> httpx.AsyncClient:
    return api.client("admin")


@pytest.fixture
def service(api: Api) -> httpx.AsyncClient:
    return api.client("service")


@pytest.fixture(autouse=True)
def _no_leaked_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("ENTITLEMENTS_DATABASE_URL", "ENTITLEMENTS_EVENT_SINKS"):
        monkeypatch.delenv(name, raising=False)
    yield
