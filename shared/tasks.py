"""Stopping background tasks for sure. On Python 3.11 `asyncio.wait_for` (used inside libraries
such as aiosmtplib and asyncpg) can swallow a cancellation that arrives just as the awaited call
completes; a loop task that swallowed its one `cancel()` runs on, and a shutdown awaiting it
waits forever. So cancellation is repeated until the task is done."""

from __future__ import annotations

import asyncio
from typing import Iterable

RECANCEL_SECONDS = 0.5


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object]]) -> None:
    """Cancel every task and wait until all are done, cancelling again any that carries on.
    Their results and exceptions are discarded (the tasks log their own failures)."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
