"""Coalescing concurrent lookups into one batched call (the DataLoader pattern).

Lookups made while the event loop is busy are gathered until its next iteration and answered by
one `fetch_many` call. Nothing is cached: every answer is read after its request arrived, so it
is exactly as fresh as a query of its own; an idle service answers a lone request at once (a
batch of one). Used on hot read paths where the per-query overhead dominates.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    def __init__(self, fetch_many: Callable[[list[K]], Awaitable[dict[K, V]]], *, default: V,
                 max_batch: int = 64) -> None:
        self.fetch_many, self.default, self.max_batch = fetch_many, default, max_batch
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def load(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._pending.append((key, future))
        if len(self._pending) >= self.max_batch:
            self._dispatch()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.ensure_future(self._run(batch))
            self._tasks.add(task)  # keep a reference until done
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        keys = list(dict.fromkeys(key for key, _ in batch))
        try:
            results = await self.fetch_many(keys)
        except BaseException as exc:  # noqa: BLE001 - every waiter gets the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for key, future in batch:
            if not future.done():  # a waiter may have been cancelled meanwhile
                future.set_result(results.get(key, self.default))
