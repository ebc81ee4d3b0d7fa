"""One unit of work per request, owned by the HTTP edge (DESIGN.md, Inside one service).

Services `flush()`; this dependency commits (`UnitOfWork.commit()`) **before** the response is
sent (`Depends(scope="function")`) and rolls back on any error. Events emitted during the request
are in the same transaction; the outbox relay is woken only after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, AsyncIterator

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.uow import UnitOfWork

if TYPE_CHECKING:
    from shared.runtime import Runtime


def runtime_of(request: Request) -> "Runtime":
    return request.app.state.runtime


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    async with runtime_of(request).work() as uow:
        yield uow
        await uow.commit()


UoW = Annotated[UnitOfWork, Depends(unit_of_work, scope="function")]


async def read_only_unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """For GETs on hot paths: on PostgreSQL an autocommit connection (no BEGIN/COMMIT round
    trips; each statement sees committed data); on SQLite a normal session that is rolled back.
    Nothing written here is kept."""
    runtime = runtime_of(request)
    if runtime.db.dialect == "sqlite":
        async with runtime.db.sessionmaker() as session:
            yield runtime.unit_of_work(session)
        return
    async with runtime.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        async with AsyncSession(bind=conn, expire_on_commit=False, autoflush=False) as session:
            yield runtime.unit_of_work(session)


ReadUoW = Annotated[UnitOfWork, Depends(read_only_unit_of_work, scope="function")]
