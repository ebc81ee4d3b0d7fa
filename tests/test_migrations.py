"""Every service's migrations produce exactly the schema its models describe, on each backend."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from services.registry import SERVICES
from services.registry import get as service_spec
from shared.migrations import current_revision, head_revision


def _metadata(service: str) -> MetaData:
    return importlib.import_module(f"services.{service}.models").metadata


async def _diff(url: str, metadata: MetaData) -> list:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True, "compare_server_default": False}),
                metadata))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_migrated_schema_matches_the_models(stores, service):
    url = await stores.fresh_url(service, _metadata(service))
    diff = await _diff(url, _metadata(service))
    assert diff == [], "the migrations and the models disagree; write a migration:\n" + "\n".join(map(str, diff))


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_database_is_at_the_head_revision(stores, service):
    url = await stores.fresh_url(service, _metadata(service))
    assert await current_revision(url) == head_revision(service_spec(service).migrations)
