"""A minimal pool of plain asyncpg connections for hot read paths on PostgreSQL.

Why not `asyncpg.create_pool`: its acquire/release costs ~40 µs of CPU per request (timeouts,
connection proxies, reset queries), twice the query itself, on a path whose whole budget is
~0.5 ms (bench/). Reads here are autocommit SELECTs that never change session state, so a lease
is just: take a permit, reuse an idle connection or open one, give it back — or drop it when it
broke. Writes never use this; they go through the unit of work.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

import asyncpg



class ReadPool:
    def __init__(self, dsn: str, size: int, connect_timeout: float = 5.0) -> None:
        self.dsn, self.size, self.connect_timeout = dsn, size, connect_timeout
        self._permits = asyncio.Semaphore(size)
        self._idle: deque[asyncpg.Connection] = deque()
        self._closed = False

    def lease(self) -> "_Lease":
        return _Lease(self)

    async def _take(self) -> asyncpg.Connection:
        if self._closed:
            raise RuntimeError("the read pool is closed")
        await self._permits.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
            return await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
        except BaseException:
            self._permits.release()
            raise

    def _give_back(self, conn: asyncpg.Connection, broken: bool) -> None:
        if broken or self._closed or conn.is_closed():
            conn.terminate()
        else:
            self._idle.append(conn)
        self._permits.release()

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            await self._idle.pop().close()


class _Lease:
    __slots__ = ("pool", "conn")

    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await self.pool._take()
        return self.conn

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self.conn is not None
        # An SQL error leaves the connection usable; anything else (lost connection, protocol
        # state, cancellation mid-query) may not: drop it rather than hand it out again.
        broken = exc is not None and (not isinstance(exc, asyncpg.PostgresError)
                                      or isinstance(exc, asyncpg.PostgresConnectionError))
        self.pool._give_back(self.conn, broken=broken)
