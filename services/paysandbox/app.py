"""The sandbox's HTTP API and settings. Every route wants `Authorization: Bearer <api_key>` (401
otherwise); errors are `{error, detail}`.

- `POST /v1/charges` with an `Idempotency-Key` header (400 without): 201 and a pending charge;
  the same key with the same body again gives that charge (200, `Idempotent-Replayed: true`),
  with another body 409 `idempotency_key_reused`; invalid input 422 (see `scenarios`), and
  nothing is stored for it.
- `GET /v1/charges/{id}`, `GET /v1/charges?idempotency_key=…`: the charge, or 404 `not_found`.
- Test controls: `POST /sandbox/charges/{id}/resend-webhook` (202: the last event again, same
  event id; 409 while pending or without `webhook_url`) and `GET /sandbox/webhook-deliveries`
  (every attempt with its response code, optionally `?charge_id=`); `GET /sandbox/limits` and
  `PUT /sandbox/limits` (the rate limit, burst and answer delay, and since the last PUT how many
  requests were throttled and the most creates in flight at once: see `limits`).
- Over the rate limit every `/v1` route answers 429 `rate_limited` with `Retry-After` (whole
  seconds) and does nothing.

Run with lifespan on (uvicorn's default): shutdown cancels settlements and deliveries under way.
State is in memory; a restart forgets every charge.
"""

from __future__ import annotations

import asyncio
import hmac
from contextlib import asynccontextmanager
from typing import Annotated, Any, AsyncIterator, Literal

from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.paysandbox.delivery import WebhookSender
from services.paysandbox.ledger import ChargeTerms, Ledger, SandboxCharge
from services.paysandbox.limits import Limits, LimitsIn
from services.paysandbox.scenarios import (
    InvalidCharge, check_currency, check_instrument, parse_amount, scenario_for,
)

_MAX_KEY_LENGTH = 255


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSANDBOX_", extra="ignore")

    api_key: str = "sk_test_dev"
    webhook_url: str | None = None  # where events are POSTed; None: none are sent
    webhook_secret: str = "whsec_cGF5c2FuZGJveC1kZXYtd2ViaG9vay1zZWNyZXQtMDE="  # dev only
    processing_delay: float = 0.2  # seconds from create to settlement
    no_answer_delay: float = 30.0  # seconds the no-answer card's create response is withheld
    webhook_max_attempts: int = 8
    webhook_backoff_base: float = 0.5  # seconds before the 2nd attempt, doubling after each
    rate_limit: float = 0.0  # API requests per second before 429 + Retry-After; 0: unlimited
    rate_burst: int = 10  # requests allowed at once before the rate applies
    response_delay: float = 0.0  # seconds each charge create is held back (to see concurrency)


class ChargeIn(BaseModel):
    amount: str
    currency: str
    method: Literal["card", "direct_debit"]
    instrument: str
    description: str = ""
    reference: str


class SandboxError(Exception):
    def __init__(self, status_code: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code, self.error, self.detail, self.headers = status_code, error, detail, headers


def create_app(settings: SandboxSettings) -> FastAPI:
    sender = None
    if settings.webhook_url:
        sender = WebhookSender(settings.webhook_url, settings.webhook_secret,
                               max_attempts=settings.webhook_max_attempts, backoff_base=settings.webhook_backoff_base)
    ledger = Ledger(settings.processing_delay, sender)
    limits = Limits(settings.rate_limit, settings.rate_burst, settings.response_delay)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await ledger.aclose()

    def authorised(authorization: Annotated[str, Header()] = "") -> None:
        if not hmac.compare_digest(authorization.encode(), f"Bearer {settings.api_key}".encode()):
            raise SandboxError(401, "unauthorized", "Authorization: Bearer <api key> required")

    def idempotency_key(key: Annotated[str, Header(alias="Idempotency-Key")] = "") -> str:
        if not key or len(key) > _MAX_KEY_LENGTH:
            raise SandboxError(400, "idempotency_key_missing", f"an Idempotency-Key header of 1-{_MAX_KEY_LENGTH} "
                                                               "characters is required")
        return key

    def within_rate(request: Request) -> None:
        if not request.url.path.startswith("/v1/"):
            return  # the test controls are never throttled
        wait = limits.take()
        if wait is not None:
            raise SandboxError(429, "rate_limited", f"too many requests: retry after {wait} s",
                               headers={"retry-after": str(wait)})

    app = FastAPI(title="Payment provider sandbox", lifespan=lifespan,
                  dependencies=[Depends(authorised), Depends(within_rate)])

    @app.exception_handler(SandboxError)
    async def sandbox_error(_: Request, exc: SandboxError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "detail": jsonable_encoder(exc.errors())}, status_code=422)

    @app.post("/v1/charges", status_code=201)
    async def create_charge(body: ChargeIn, request: Request, key: str = Depends(idempotency_key)) -> Any:
        # `Depends` as a default: under postponed annotations a closure in Annotated is unresolvable
        async with limits.serving():
            return await _create(body, request, key)

    async def _create(body: ChargeIn, request: Request, key: str) -> Any:
        try:
            check_currency(body.currency)
            check_instrument(body.method, body.instrument)
            terms = ChargeTerms(parse_amount(body.amount), body.currency, body.method, body.instrument,
                                body.description, body.reference)
        except InvalidCharge as exc:
            raise SandboxError(422, exc.code, exc.detail) from exc
        existing = ledger.by_key(key)
        if existing is not None:
            if existing.terms != terms:
                raise SandboxError(409, "idempotency_key_reused",
                                   "this Idempotency-Key was used with a different request body")
            return JSONResponse(existing.as_json(), headers={"idempotent-replayed": "true"})
        charge = ledger.create(key, terms)
        if scenario_for(terms.instrument).no_answer:
            await _withhold(request, settings.no_answer_delay)
        return charge.as_json()

    @app.get("/v1/charges")
    async def find_charge(idempotency_key: str) -> Any:
        return _found(ledger.by_key(idempotency_key)).as_json()

    @app.get("/v1/charges/{charge_id}")
    async def get_charge(charge_id: str) -> Any:
        return _found(ledger.get(charge_id)).as_json()

    @app.post("/sandbox/charges/{charge_id}/resend-webhook", status_code=202)
    async def resend_webhook(charge_id: str) -> Any:
        charge = _found(ledger.get(charge_id))
        if ledger.sender is None:
            raise SandboxError(409, "webhooks_disabled", "no webhook_url is configured")
        if charge.last_event is None:
            raise SandboxError(409, "charge_pending", "the charge has not settled: no event yet")
        ledger.resend(charge)
        return {"event_id": charge.last_event["id"]}

    @app.get("/sandbox/limits")
    async def get_limits() -> Any:
        return limits.as_json()

    @app.put("/sandbox/limits")
    async def put_limits(body: LimitsIn) -> Any:
        limits.configure(body)
        return limits.as_json()

    @app.get("/sandbox/webhook-deliveries")
    async def webhook_deliveries(charge_id: str | None = None) -> Any:
        attempts = ledger.sender.deliveries if ledger.sender is not None else []
        return {"data": [a for a in attempts if charge_id is None or a["charge_id"] == charge_id]}

    return app


def _found(charge: SandboxCharge | None) -> SandboxCharge:
    if charge is None:
        raise SandboxError(404, "not_found", "no such charge")
    return charge


async def _withhold(request: Request, seconds: float) -> None:
    """Holds the response back `seconds`, or until the client gives up and disconnects (the
    charge goes on settling either way)."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), seconds)
    except TimeoutError:
        pass
