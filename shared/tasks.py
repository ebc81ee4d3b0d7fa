"""Stopping background tasks for sure. On Python 3.11 `asyncio.wait_for` (used inside libraries
such as aiosmtplib and asyncpg) can swallow a cancellation that arrives just as the awaited call
completes; a loop task that swallowed its one `cancel()` runs on, and a shutdown awaiting it
waits forever. So cancellation is repeated until the task is done."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Iterable

RECANCEL_SECONDS = 0.5


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object]]) -> None:
    """Cancel every task and wait until all are done, cancelling again any that carries on.
    Their results and exceptions are discarded (the tasks log their own failures)."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)


async def drain_rounds(round_: Callable[[], Awaitable[int]], max_rounds: int = 100) -> int:
    """Run rounds until one does nothing (tests and tools); returns the work done in all."""
    total = 0
    for _ in range(max_rounds):
        n = await round_()
        total += n
        if n == 0:
            break
    return total


class WakeableLoop:
    """A background job of rounds (the outbox relay, the webhook dispatcher): after a round that
    did work the next one starts at once; after an idle one it waits for `wake()` (a commit) or
    `poll_interval` (other replicas' work, work that comes with time). A `poll_interval` of 0 or
    less disables the loop (tests drive such rounds themselves). A failing round is logged and
    the loop goes on (a database hiccup must not end it); `stop()` ends it for sure."""

    def __init__(self, round_: Callable[[], Awaitable[int]], *, name: str, poll_interval: float,
                 log: logging.Logger) -> None:
        self.round, self.name, self.poll_interval, self.log = round_, name, poll_interval, log
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                worked = await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - see the class docstring
                self.log.exception("%s round failed", self.name)
                worked = 0
            if worked == 0:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
                # that arrives as the wake-up completes, and stop() would then wait forever.
                try:
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()

    def start(self) -> None:
        if self.task is None and self.poll_interval > 0:
            self.task = asyncio.create_task(self.run_forever(), name=self.name)

    async def stop(self) -> None:
        if self.task is not None:
            task, self.task = self.task, None
            await cancel_and_wait([task])  # again and again if a library swallowed the first cancel
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise asyncio.CancelledError  # our caller is being cancelled too: do not swallow that
