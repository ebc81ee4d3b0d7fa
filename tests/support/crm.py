"""A stand-in for the CRM's webhook endpoints, shared by the packages that run the platform as
processes (tests/e2e, tests/replicas): it records every webhook POSTed to `/hooks/<name>`."""

from __future__ import annotations

import base64
import secrets
from typing import AsyncIterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.served import Served


class WebhookReceiver:
    """Stands in for the CRM: records every webhook POSTed to `/hooks/<name>`, raw (name, body,
    headers). `secret` is the one configured statically (`BILLING_WEBHOOKS`, hook `billing`);
    endpoints registered through the webhook endpoints API get their own."""

    def __init__(self) -> None:
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.received: list[tuple[str, bytes, dict[str, str]]] = []
        app = FastAPI()

        @app.post("/hooks/{name}")
        async def hook(name: str, request: Request) -> JSONResponse:
            self.received.append((name, await request.body(), dict(request.headers)))
            return JSONResponse({"ok": True})

        self.served = Served(app)

    def url(self, name: str = "crm") -> str:
        return f"{self.served.base_url}/hooks/{name}"


@pytest.fixture(scope="package")
async def crm() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    await receiver.served.start()
    yield receiver
    await receiver.served.stop()
