"""The migrations produce exactly the schema the models describe, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from services.entitlements.models import metadata
from services.registry import get as service_spec
from shared.migrations import current_revision, head_revision


async def _diff(url: str) -> list:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True, "compare_server_default": False}),
                metadata))
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(database_url):
    diff = await _diff(database_url)
    assert diff == [], "the migrations and the models disagree; write a migration:\n" + "\n".join(map(str, diff))


async def test_database_is_at_the_head_revision(database_url):
    assert await current_revision(database_url) == head_revision(service_spec("entitlements").migrations)
