"""shared/coalesce.py: concurrent lookups share one batched call; failures reach every waiter."""

from __future__ import annotations

import asyncio

import pytest

from shared.coalesce import Coalescer


async def test_concurrent_loads_share_one_call_and_get_their_own_answers():
    calls: list[list[int]] = []

    async def fetch_many(keys: list[int]) -> dict[int, str]:
        calls.append(keys)
        await asyncio.sleep(0)
        return {k: f"v{k}" for k in keys if k != 3}

    coalescer: Coalescer[int, str | None] = Coalescer(fetch_many, default=None)
    results = await asyncio.gather(*(coalescer.load(k) for k in (1, 2, 3, 2)))
    assert results == ["v1", "v2", None, "v2"]
    assert calls == [[1, 2, 3]]  # one call, duplicate keys asked once
    assert await coalescer.load(5) == "v5"  # a lone request is answered too
    assert calls[-1] == [5]


async def test_a_failure_reaches_every_waiter():
    async def fetch_many(keys: list[int]) -> dict[int, int]:
        raise ConnectionError("database went away")

    coalescer: Coalescer[int, int] = Coalescer(fetch_many, default=0)
    results = await asyncio.gather(coalescer.load(1), coalescer.load(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_cancelled_waiter_does_not_disturb_the_others():
    release = asyncio.Event()

    async def fetch_many(keys: list[int]) -> dict[int, int]:
        await release.wait()
        return {k: k * 10 for k in keys}

    coalescer: Coalescer[int, int] = Coalescer(fetch_many, default=0)
    first = asyncio.ensure_future(coalescer.load(1))
    second = asyncio.ensure_future(coalescer.load(2))
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert await second == 20
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_batches_are_bounded():
    sizes: list[int] = []

    async def fetch_many(keys: list[int]) -> dict[int, int]:
        sizes.append(len(keys))
        return {k: k for k in keys}

    coalescer: Coalescer[int, int] = Coalescer(fetch_many, default=0, max_batch=4)
    assert await asyncio.gather(*(coalescer.load(k) for k in range(10))) == list(range(10))
    assert max(sizes) <= 4 and sum(sizes) == 10
