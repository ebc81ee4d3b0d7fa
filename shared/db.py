"""Async database access for `sqlite+aiosqlite` (embedded default) and `postgresql+asyncpg`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from shared.readpool import ReadPool


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, poolclass=NullPool, connect_args={"timeout": 30})
        _sqlite_write_serialisation(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800,
    )


def _sqlite_write_serialisation(engine: AsyncEngine) -> None:
    """SQLite has one writer. `BEGIN IMMEDIATE` takes the write lock at the start of every
    transaction, so two requests never both read and then deadlock upgrading to write; the
    30 s busy timeout queues them instead. WAL lets readers of other connections proceed."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, read_pool_size: int = 32, echo: bool = False) -> None:
        self.url = url
        self.read_pool_size = read_pool_size
        self.engine = create_engine(url, pool_size=pool_size, echo=echo)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._read_pool: ReadPool | None = None

    def read_pool(self) -> ReadPool:
        """Plain asyncpg connections for hot read paths on PostgreSQL (shared/readpool.py):
        autocommit reads, statements prepared and cached per connection, no ORM."""
        if self.dialect != "postgresql":
            raise RuntimeError("raw reads are for PostgreSQL; use a session on SQLite")
        if self._read_pool is None:
            dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
            self._read_pool = ReadPool(dsn, self.read_pool_size)
        return self._read_pool

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on any error
        (for background jobs; requests use the unit-of-work dependency)."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._read_pool is not None:
            await self._read_pool.close()
            self._read_pool = None
        await self.engine.dispose()
