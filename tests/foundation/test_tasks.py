"""Shutdown stops a background loop even when a library swallowed its first cancellation (the
Python 3.11 `asyncio.wait_for` race behind a shutdown that once hung past its 30 s)."""

from __future__ import annotations

import asyncio

from shared.tasks import cancel_and_wait


async def test_a_loop_that_swallows_one_cancellation_is_still_stopped():
    swallowed = 0

    async def stubborn_loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed == 0:  # what wait_for does when the cancel races the result
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(stubborn_loop())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task]), timeout=5)
    assert task.cancelled() and swallowed == 1


async def test_finished_and_failed_tasks_are_just_waited_for():
    async def fails() -> None:
        raise RuntimeError("boom")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fails())
    await asyncio.sleep(0.01)
    await cancel_and_wait([done, failed])
    assert done.done() and isinstance(failed.exception(), RuntimeError)
