"""Fixtures of the foundation tests: apps built with adjusted settings (a second JWKS, the relay
off, a small dead-letter limit, test-only routes) on the same per-test database."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from services.entitlements.main import create_app
from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file
from services.entitlements.settings import EntitlementsSettings
from shared.clock import FixedClock
from shared.infra_models import OutboxMessage
from tests.conftest import Api

MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(settings: EntitlementsSettings, keys: tuple[Path, Path], clock: FixedClock
                   ) -> AsyncIterator[MakeApi]:
    """`await make_api(catalogue=True, customize=None, **setting_overrides)`: a started app (its
    lifespan runs, so its relay runs unless `relay_enabled=False`) with clients per role."""
    async with AsyncExitStack() as stack:

        async def _make(*, catalogue: bool = True, customize: Callable[[FastAPI], None] | None = None,
                        **overrides: Any) -> Api:
            adjusted = settings.model_copy(update=overrides)
            app = create_app(adjusted, clock=clock)
            if customize is not None:
                customize(app)
            await stack.enter_async_context(LifespanManager(app))
            api = Api(app, adjusted, keys[0], clock)
            stack.push_async_callback(api.close)
            if catalogue:
                body = read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json")
                response = await api.client("admin").post("/v1/catalogue", json=body)
                assert response.status_code == 200, response.text
            return api

        yield _make


async def outbox_rows(api: Api) -> list[OutboxMessage]:
    """The outbox table, in id order (infrastructure tests only; domain tests use the API)."""
    async with api.app.state.runtime.db.session() as session:  # type: ignore[attr-defined]
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
