"""The hot-path read pool (shared/readpool.py) on a real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.readpool import ReadPool
from tests.support.databases import PG_ADMIN_DSN, postgres_available, skip_or_fail_without_postgres


@pytest.fixture
async def pool():
    problem = await postgres_available()
    if problem:
        skip_or_fail_without_postgres(problem)
    p = ReadPool(PG_ADMIN_DSN, size=2)
    yield p
    await p.close()


async def test_connections_are_reused(pool):
    async with pool.lease() as conn:
        first = await conn.fetchval("SELECT pg_backend_pid()")
    async with pool.lease() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == first


async def test_a_connection_killed_by_the_server_is_dropped_and_replaced(pool):
    async with pool.lease() as conn:
        victim = await conn.fetchval("SELECT pg_backend_pid()")
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", victim)
    finally:
        await admin.close()
    failures = 0
    for _ in range(2):  # at most the one request that held the dead connection fails
        try:
            async with pool.lease() as conn:
                pid = await conn.fetchval("SELECT pg_backend_pid()")
        except Exception:  # noqa: BLE001 - asyncpg reports a killed backend in several ways
            failures += 1
    assert failures <= 1
    assert pid != victim


async def test_no_more_than_size_connections_at_once(pool):
    inside = 0
    most = 0

    async def one() -> None:
        nonlocal inside, most
        async with pool.lease() as conn:
            inside += 1
            most = max(most, inside)
            await conn.fetchval("SELECT pg_sleep(0.05)")
            inside -= 1

    await asyncio.gather(*(one() for _ in range(6)))
    assert most == 2
