"""The HTTP edge: body limit, request id, health/readiness/metrics, error bodies for unknown
routes and unexpected exceptions."""

from __future__ import annotations

import logging
import re
from typing import AsyncIterator

import httpx
from fastapi import FastAPI

from shared.context import current_request_id
from tests.entitlements.helpers import buy

MIB = 1024 * 1024


def _assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "payload_too_large"


async def test_body_over_one_mib_with_content_length_is_413(shop):
    body = b'{"customer_id": "' + b"x" * MIB + b'"}'
    response = await shop.post("/v1/purchases", content=body,
                               headers={"content-type": "application/json", "Idempotency-Key": "k-big"})
    assert response.request.headers["content-length"] == str(len(body))
    _assert_413(response)
    assert response.headers.get("x-request-id")


async def test_body_just_under_the_limit_is_not_413(shop):
    """The control: a large body within the limit reaches the route (and is refused there as
    malformed, not as too large)."""
    body = b'{"customer_id": "' + b"x" * (MIB - 100) + b'"}'
    response = await shop.post("/v1/purchases", content=body,
                               headers={"content-type": "application/json", "Idempotency-Key": "k-big"})
    assert response.status_code == 422, response.text


async def test_streamed_body_over_one_mib_without_content_length_is_413(shop):
    chunk = b"x" * (64 * 1024)

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"customer_id": "'
        for _ in range(17):  # 17 × 64 KiB > 1 MiB
            yield chunk
        yield b'"}'

    response = await shop.post("/v1/purchases", content=stream(),
                               headers={"content-type": "application/json", "Idempotency-Key": "k-stream"})
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    _assert_413(response)


async def test_streamed_body_over_the_limit_is_413_on_a_route_with_optional_body(api, service, shop):
    contract = (await buy(shop)).json()

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"reason": "'
        for _ in range(20):
            yield b"y" * (64 * 1024)
        yield b'"}'

    response = await service.post(f"/v1/contracts/{contract['id']}/activate", content=stream(),
                                  headers={"content-type": "application/json"})
    _assert_413(response)
    assert (await shop.get(f"/v1/contracts/{contract['id']}")).json()["status"] == "pending_payment"


async def test_response_carries_a_request_id_and_echoes_the_callers(shop):
    generated = await shop.get("/v1/products")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    other = await shop.get("/v1/products")
    assert other.headers["x-request-id"] != generated.headers["x-request-id"]
    echoed = await shop.get("/v1/products", headers={"X-Request-ID": "caller-rid-42"})
    assert echoed.headers["x-request-id"] == "caller-rid-42"
    errored = await shop.get("/v1/contracts/ctr_nope", headers={"X-Request-ID": "caller-rid-43"})
    assert errored.status_code == 404 and errored.headers["x-request-id"] == "caller-rid-43"
    unauthenticated = await shop.get("/v1/products", headers={"X-Request-ID": "rid-44", "authorization": ""})
    assert unauthenticated.status_code == 401 and unauthenticated.headers["x-request-id"] == "rid-44"


async def test_healthz_is_200_without_a_token(api):
    response = await api.client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_200_when_migrated_and_catalogue_loaded(api):
    response = await api.client().get("/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


async def test_readyz_is_503_while_the_catalogue_is_empty(make_api):
    api = await make_api(catalogue=False)
    response = await api.client().get("/readyz")
    assert response.status_code == 503
    assert "catalogue" in response.json()["detail"]


async def test_metrics_count_requests_by_route_template(api, shop):
    contract = (await buy(shop)).json()
    for _ in range(3):
        assert (await shop.get(f"/v1/contracts/{contract['id']}")).status_code == 200
    await shop.get("/v1/contracts/ctr_missing")
    text = (await api.client().get("/metrics")).text
    assert "http_requests_total" in text
    found = re.search(r'http_requests_total\{[^}]*method="GET"[^}]*route="/v1/contracts/\{contract_id\}"'
                      r'[^}]*status="200"[^}]*\} (\S+)', text)
    assert found, text
    assert float(found.group(1)) == 3.0
    assert re.search(r'route="/v1/contracts/\{contract_id\}"[^}]*status="404"', text)
    assert contract["id"] not in text and "ctr_missing" not in text
    assert 'route="/v1/purchases"' in text
    assert "outbox_pending_messages" in text


async def test_unknown_route_is_404_not_found_body(api, shop):
    response = await shop.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert set(response.json()) >= {"error", "detail"}
    anonymous = await api.client().get("/nowhere")
    assert (anonymous.status_code, anonymous.json()["error"]) == (404, "not_found")
    wrong_method = await shop.delete("/v1/products")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "method_not_allowed")


def _add_failing_route(app: FastAPI) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/test-only/boom", boom, methods=["GET"])


class _RecordRequestIds(logging.Filter):
    """Notes the request id in force when each record is logged (what the JSON log shows)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen.append((record.getMessage(), current_request_id()))
        return True


async def test_unexpected_exception_is_500_internal_error_with_the_request_id(make_api):
    api = await make_api(catalogue=False, customize=_add_failing_route)
    recorder = _RecordRequestIds()
    logging.getLogger("shared.errors").addFilter(recorder)
    # Starlette re-raises after answering (so servers can log); the client must not.
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://entitlements") as client:
            response = await client.get("/test-only/boom", headers={"X-Request-ID": "rid-500"})
    finally:
        logging.getLogger("shared.errors").removeFilter(recorder)
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret internal detail" not in response.text
    assert response.headers.get("x-request-id") == "rid-500"
    assert ("unhandled error", "rid-500") in recorder.seen


async def test_after_a_500_the_next_request_on_the_same_client_is_served(settings, clock):
    """Starlette re-raises after the 500 and the server drops the connection: the answer says
    `Connection: close`, so a keep-alive client opens a new connection for its next request
    instead of failing it (real uvicorn, one client)."""
    from services.entitlements.main import create_app
    from tests.support.served import Served

    app = create_app(settings.model_copy(update={"relay_enabled": False}), clock=clock)
    _add_failing_route(app)
    async with Served(app, lifespan="on") as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        for _ in range(3):
            failed = await client.get("/test-only/boom")
            assert (failed.status_code, failed.headers.get("connection")) == (500, "close")
            assert failed.json()["error"] == "internal_error"
            healthy = await client.get("/healthz")
            assert healthy.status_code == 200


async def test_oversized_headers_are_431_before_the_token_is_read(settings, clock, keys):
    from services.entitlements.main import create_app
    from tests.support.served import Served

    app = create_app(settings.model_copy(update={"relay_enabled": False}), clock=clock)
    async with Served(app, lifespan="on") as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        big_token = await client.get("/v1/catalogue", headers={"authorization": "Bearer " + "a" * 9000})
        assert (big_token.status_code, big_token.json()["error"]) == (431, "request_header_fields_too_large")
        assert "Authorization" in big_token.json()["detail"]
        many = await client.get("/healthz", headers={f"x-filler-{n}": "v" * 1000 for n in range(17)})
        assert (many.status_code, many.json()["error"]) == (431, "request_header_fields_too_large")
        fine = await client.get("/healthz", headers={"authorization": "Bearer " + "a" * 7000})
        assert fine.status_code == 200  # the control: under the caps
