"""One unit of work per request, owned by the HTTP edge (DESIGN.md, Inside one service).

Services `flush()`; this dependency commits **before** the response is sent
(`Depends(scope="function")`) and rolls back on any error. Events emitted during the request
are in the same transaction; the outbox relay is woken only after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, AsyncIterator

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.outbox import OutboxWriter

if TYPE_CHECKING:
    from shared.runtime import Runtime


@dataclass
class UnitOfWork:
    session: AsyncSession
    clock: Clock
    events: OutboxWriter


def runtime_of(request: Request) -> "Runtime":
    return request.app.state.runtime


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    runtime = runtime_of(request)
    async with runtime.db.sessionmaker() as session:
        uow = runtime.unit_of_work(session)
        try:
            yield uow
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    if uow.events.emitted:
        runtime.after_commit()


UoW = Annotated[UnitOfWork, Depends(unit_of_work, scope="function")]
