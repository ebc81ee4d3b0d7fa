"""The unit of work a service is handed: the session, the clock and the outbox writer.

Services `flush()`; the owner of the unit of work commits (for a request, the HTTP edge:
shared/web/uow.py) and wakes the outbox relay only after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.outbox import OutboxWriter


@dataclass
class UnitOfWork:
    session: AsyncSession
    clock: Clock
    events: OutboxWriter
