"""An ASGI app served by uvicorn on a free loopback port, in the test's own event loop: the real
HTTP peer that tests talk to (another service, a CRM webhook receiver, a flaky dependency)."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import uvicorn


def _ephemeral_range_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


_handed_out: set[int] = set()  # this process's ports so far: each server of a run gets its own


def free_port() -> int:
    """A free loopback port for a server a test starts later. Chosen below the kernel's ephemeral
    range: a port the kernel hands out (bind to 0) can be taken by any outgoing connection
    (database, HTTP client) as its local port before the server binds it, and the test fails
    at random. Never the same port twice in one run: a platform picks all its ports before its
    first server binds one, so a port that is merely free now could be handed to two of them."""
    top = _ephemeral_range_start()
    for _ in range(500):
        port = random.randrange(max(1024, top - 12000), top)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port below the ephemeral range")


class Served:
    def __init__(self, app: Any, *, lifespan: str = "off", port: int | None = None) -> None:
        self.port = port or free_port()  # a port chosen beforehand when peers must know it first
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan=lifespan))
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()  # it failed to start: raise why
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task

    async def __aenter__(self) -> str:
        await self.start()
        return self.base_url

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
