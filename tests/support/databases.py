"""Test databases: a migrated SQLite file per test (copied from a template), or one migrated
PostgreSQL database per service per session, truncated between tests.

PostgreSQL is required when CI=true or REQUIRE_POSTGRES=1: then a missing server fails the run
instead of skipping."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import MetaData

from shared.migrations import upgrade
from tests.support.postgres import create_database, database_dsn, database_url, drop_database

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_POSTGRES") == "1"


async def postgres_available() -> str | None:
    """None when PostgreSQL answers; the reason when nothing listens there. Any other failure
    (too many clients, bad credentials) is raised: that is a broken setup, not a missing server."""
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_DSN), timeout=5)
    except (OSError, asyncio.TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def skip_or_fail_without_postgres(problem: str) -> None:
    message = f"PostgreSQL at {PG_ADMIN_DSN} is not reachable ({problem})"
    if postgres_required():
        pytest.fail(message + "; it is required here (CI=true or REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message + "; set TEST_POSTGRES_DSN or start PostgreSQL to run these")


class PostgresDatabase:
    def __init__(self, service: str) -> None:
        self.name = f"test_{service}_{uuid.uuid4().hex[:8]}"
        self.url = database_url(PG_ADMIN_DSN, self.name)
        self.dsn = database_dsn(PG_ADMIN_DSN, self.name)

    async def create(self, migrations: Path, revision: str = "head") -> None:
        await create_database(PG_ADMIN_DSN, self.name)
        await asyncio.to_thread(upgrade, migrations, self.url, revision)

    async def truncate(self, metadata: MetaData) -> None:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    async def drop(self) -> None:
        await drop_database(PG_ADMIN_DSN, self.name)


class SqliteTemplate:
    def __init__(self, folder: Path, service: str) -> None:
        self.template = folder / f"{service}-template.db"
        self.folder = folder

    async def create(self, migrations: Path, revision: str = "head") -> None:
        await asyncio.to_thread(upgrade, migrations, f"sqlite+aiosqlite:///{self.template}", revision)

    def fresh(self) -> str:
        target = self.folder / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, target)
        return f"sqlite+aiosqlite:///{target}"
