"""A real HTTP endpoint that records the events relayed to it, standing in for a consuming
service (billing, tickets) in tests of the outbox conversation. It can be told to fail."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.served import Served, free_port  # noqa: F401 - free_port is re-exported for tests


class EventReceiver:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_next = 0
        self._arrived = asyncio.Event()
        app = FastAPI()

        @app.post("/v1/events")
        async def receive(request: Request) -> JSONResponse:
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error": "unavailable"}, status_code=503)
            self.events.append(await request.json())
            self.headers.append(dict(request.headers))
            self._arrived.set()
            return JSONResponse({"outcome": "applied"})

        self.served = Served(app)
        self.port = self.served.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/events"

    async def start(self) -> None:
        await self.served.start()

    async def stop(self) -> None:
        await self.served.stop()

    def reset(self) -> None:
        self.events.clear()
        self.headers.clear()
        self.fail_next = 0

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]

    async def wait_for(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.of_type(event_type)) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [e["type"] for e in self.events]
                raise AssertionError(f"no {count}× {event_type} within {timeout}s; received {seen}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=min(remaining, 0.2))
            except asyncio.TimeoutError:
                pass
        return self.of_type(event_type)
