"""Creating and dropping PostgreSQL databases through the admin connection, for the tests, the
end-to-end harness and the benchmarks alike (no pytest here: `python -m bench.X` imports it)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg


def database_dsn(admin_dsn: str, name: str) -> str:
    """The plain (asyncpg) DSN of database `name` on the admin DSN's server."""
    return f"{admin_dsn.rsplit('/', 1)[0]}/{name}"


def database_url(admin_dsn: str, name: str) -> str:
    """The SQLAlchemy URL of database `name` on the admin DSN's server."""
    return database_dsn(admin_dsn, name).replace("postgresql://", "postgresql+asyncpg://", 1)


@contextlib.asynccontextmanager
async def connected(dsn: str, timeout: float = 10.0) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=timeout)
    try:
        yield conn
    finally:
        await conn.close()


async def create_database(admin_dsn: str, name: str) -> None:
    async with connected(admin_dsn) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')


async def drop_database(admin_dsn: str, name: str) -> None:
    async with connected(admin_dsn) as conn:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
