"""Fixtures of the webhook endpoints tests: a real HTTP receiver standing in for the CRM or the
shop, and the apps of the three services as the other test packages build them (entitlements
through `make_api`, tickets through `world`, billing through `bw`)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI, Request, Response

# The apps as the other packages build them: their fixtures (`bw`, `world`, `make_api`) and the
# fixtures those depend on, whatever they are named.
from tests.billing.conftest import *  # noqa: F401,F403
from tests.foundation.conftest import make_api  # noqa: F401
from tests.support.served import Served
from tests.support.waiting import until
from tests.tickets.conftest import *  # noqa: F401,F403


@dataclass
class Received:
    name: str
    body: bytes
    headers: dict[str, str]
    status: int  # what the receiver answered

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class HookReceiver:
    """`POST /hooks/{name}` records the request as received (bytes and headers, unverified: the
    tests verify) and answers `status[name]` (default 204)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status: dict[str, int] = {}
        app = FastAPI()

        @app.post("/hooks/{name}")
        async def receive(name: str, request: Request) -> Response:
            status = self.status.get(name, 204)
            self.received.append(Received(name, await request.body(), dict(request.headers), status))
            return Response(b'{"error":"receiver down"}' if status >= 300 else b"", status_code=status)

        self.served = Served(app)

    def url(self, name: str) -> str:
        return f"{self.served.base_url}/hooks/{name}"

    def of(self, name: str, event_type: str | None = None) -> list[Received]:
        return [r for r in self.received if r.name == name and (event_type is None or r.event["type"] == event_type)]

    async def wait_for(self, name: str, event_type: str, count: int = 1, timeout: float = 15.0) -> list[Received]:
        async def probe() -> list[Received] | None:
            found = self.of(name, event_type)
            return found if len(found) >= count else None
        return await until(probe, f"{count}× {event_type} at {name} (received: "
                                  f"{[(r.name, r.event['type'], r.status) for r in self.received]})", timeout)

    def reset(self) -> None:
        self.received.clear()
        self.status.clear()


@pytest.fixture(scope="module")
async def hook_server() -> AsyncIterator[HookReceiver]:
    receiver = HookReceiver()
    await receiver.served.start()
    yield receiver
    await receiver.served.stop()


@pytest.fixture
def hooks(hook_server: HookReceiver) -> HookReceiver:
    hook_server.reset()
    return hook_server


# ---- the API, as a client uses it -----------------------------------------------------------------


async def register(client: httpx.AsyncClient, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    response = await client.post("/v1/webhook-endpoints", json={"url": url, "events": events, **extra},
                                 headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(client: httpx.AsyncClient, endpoint_id: str, status: str | None = None) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries",
                                params={"status": status} if status else None)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def delivery_detail(client: httpx.AsyncClient, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def endpoint(client: httpx.AsyncClient, endpoint_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/webhook-endpoints/{endpoint_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def delivery_where(client: httpx.AsyncClient, endpoint_id: str, test: Callable[[dict[str, Any]], bool],
                         what: str, timeout: float = 15.0) -> dict[str, Any]:
    """The first delivery of the endpoint passing `test`, waited for."""
    async def probe() -> dict[str, Any] | None:
        return next((d for d in await deliveries(client, endpoint_id) if test(d)), None)
    return await until(probe, what, timeout)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
