"""The unit of work a service is handed: the session, the clock and the outbox writer.

Services `flush()`; the owner of the unit of work commits with `await uow.commit()` (for a
request, the HTTP edge: shared/web/uow.py; for a job, `async with runtime.work() as uow`), and
only that commit wakes the outbox relay and the loops the work was for. A unit of work that is
not committed is rolled back (cosmicpython's rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.outbox import OutboxWriter


@dataclass
class UnitOfWork:
    session: AsyncSession
    clock: Clock
    events: OutboxWriter
    wakes: set[str] = field(default_factory=set)  # background loops this transaction gives work
    on_commit: Callable[["UnitOfWork"], None] | None = None  # set by the runtime: wake the relay and loops
    committed: bool = False

    async def commit(self) -> None:
        """Commit the session, then wake what the work was for (the relay, `wake()`d loops)."""
        await self.session.commit()
        self.committed = True
        if self.on_commit is not None:
            self.on_commit(self)

    async def rollback(self) -> None:
        await self.session.rollback()

    def wake(self, loop: str) -> None:
        """Have the background loop `loop` (Runtime.background_loop) run a round once this
        unit of work has committed: the work it was given is then visible to it."""
        self.wakes.add(loop)
