"""An ASGI app served by uvicorn on a free loopback port, in the test's own event loop: the real
HTTP peer that tests talk to (another service, a CRM webhook receiver, a flaky dependency)."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn

from tests.support.ports import free_port

__all__ = ["Served", "free_port"]


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
