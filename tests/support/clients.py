"""Test HTTP clients that are closed together when the test's platform is torn down."""

from __future__ import annotations

from typing import Any

import httpx


class ClientPool:
    """Makes httpx clients with a bearer token (or none) and closes every one it made."""

    def __init__(self) -> None:
        self._clients: list[httpx.AsyncClient] = []

    def pooled(self, token: str | None = None, **options: Any) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        c = httpx.AsyncClient(headers=headers, **options)
        self._clients.append(c)
        return c

    async def close(self) -> None:
        for c in self._clients:
            await c.aclose()
