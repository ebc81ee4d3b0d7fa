"""Waiting for the services' asynchronous work: one polling loop every area uses."""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(probe: Callable[[], Awaitable[T] | T], what: str, timeout: float = 15.0,
                interval: float = 0.05) -> T:
    """Polls `probe()` (awaited when it is a coroutine function) until it is truthy and returns that
    value; fails after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)
