"""The unit of work a service is handed: the session, the clock and the outbox writer.

Services `flush()`; the owner of the unit of work commits (for a request, the HTTP edge:
shared/web/uow.py) and only then wakes the outbox relay and the loops the work was for
(`Runtime.after_commit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.outbox import OutboxWriter


@dataclass
class UnitOfWork:
    session: AsyncSession
    clock: Clock
    events: OutboxWriter
    wakes: set[str] = field(default_factory=set)  # background loops this transaction gives work

    def wake(self, loop: str) -> None:
        """Have the background loop `loop` (Runtime.background_loop) run a round once this
        unit of work has committed: the work it was given is then visible to it."""
        self.wakes.add(loop)
