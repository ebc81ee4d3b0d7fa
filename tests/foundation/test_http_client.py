"""shared/http.py: calls to other services carry a service token and the request id, and are
retried only when that is safe (idempotent methods, or a POST with an Idempotency-Key)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.auth import Authenticator
from shared.context import request_id_var
from shared.devkeys import DEV_KID
from shared.http import ServiceTokenProvider, make_client
from shared.roles import EVENTS_PUBLISH
from shared.settings import ServiceSettings
from tests.support.served import Served


class FlakyPeer:
    """A real HTTP server that answers 503 to the first `fail` calls of each path."""

    def __init__(self, fail: int) -> None:
        self.fail, self.calls, self.seen = fail, {}, []
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST"])
        async def any_call(path: str, request: Request) -> JSONResponse:
            self.calls[path] = self.calls.get(path, 0) + 1
            self.seen.append(dict(request.headers))
            if self.calls[path] <= self.fail:
                return JSONResponse({"error": "unavailable"}, status_code=503)
            return JSONResponse({"ok": True})

        self.served = Served(app)
        self.port = self.served.port

    async def __aenter__(self) -> "FlakyPeer":
        await self.served.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.served.stop()


@pytest.fixture
def client_settings(keys: tuple[Path, Path]) -> ServiceSettings:
    private, jwks = keys
    return ServiceSettings(service_name="tickets", environment="test", signing_key_file=private, jwks_file=jwks,
                           signing_key_id=DEV_KID, http_retries=2, http_timeout=2.0)


async def test_calls_carry_a_verifiable_service_token_and_the_request_id(client_settings):
    async with FlakyPeer(fail=0) as peer:
        client = make_client(client_settings, f"http://127.0.0.1:{peer.port}", ServiceTokenProvider(client_settings))
        token = request_id_var.set("req-abc")
        try:
            assert (await client.get("/v1/anything")).status_code == 200
        finally:
            request_id_var.reset(token)
            await client.aclose()
    headers = peer.seen[0]
    assert headers["x-request-id"] == "req-abc"
    principal = await Authenticator.from_settings(client_settings).authenticate(
        headers["authorization"].removeprefix("Bearer "))
    assert principal.sub == "svc:tickets" and principal.has(EVENTS_PUBLISH)


async def test_idempotent_calls_are_retried(client_settings):
    async with FlakyPeer(fail=2) as peer:
        async with make_client(client_settings, f"http://127.0.0.1:{peer.port}") as client:
            get = await client.get("/v1/read")
            keyed = await client.post("/v1/create", json={}, headers={"Idempotency-Key": "k-1"})
    assert (get.status_code, keyed.status_code) == (200, 200)
    assert peer.calls == {"v1/read": 3, "v1/create": 3}


async def test_a_post_without_idempotency_key_is_not_retried(client_settings):
    async with FlakyPeer(fail=1) as peer:
        async with make_client(client_settings, f"http://127.0.0.1:{peer.port}") as client:
            response = await client.post("/v1/unsafe", json={})
    assert response.status_code == 503
    assert peer.calls == {"v1/unsafe": 1}
