"""Alembic, per service: each service has `migrations/` beside its code; this module gives
them one env.py body and a programmatic `upgrade` (used by `supportctl migrate` and tests).

Migrations run by command (and by the Kubernetes Job), never implicitly at app start-up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(script_location: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Apply migrations (blocking; call from a thread when an event loop is running)."""
    command.upgrade(alembic_config(script_location, database_url), revision)


def head_revision(script_location: Path) -> str | None:
    return ScriptDirectory.from_config(alembic_config(script_location, "sqlite://")).get_current_head()


async def current_revision(connection_url: str) -> str | None:
    engine = create_async_engine(connection_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    is_sqlite = url.startswith("sqlite")

    def _configure(connection: Connection | None = None) -> None:
        context.configure(connection=connection, url=None if connection else url, target_metadata=metadata,
                          render_as_batch=is_sqlite, compare_type=True, literal_binds=connection is None)

    if context.is_offline_mode():
        _configure()
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection: Connection) -> None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()

    async def _online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(_run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(_online())
