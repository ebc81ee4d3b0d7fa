"""`PaymentProvider` over the provider's HTTP API (the one `services.paysandbox` implements):
`POST /v1/charges` with an `Idempotency-Key`, `GET /v1/charges?idempotency_key=…`, and
Standard Webhooks (https://www.standardwebhooks.com) verified with the `standardwebhooks` package.

Amounts travel as decimal strings ("123.45"), never floats. On create, an answer that leaves the
outcome open (timeout, connection error, 5xx) is a `Charge` with status `unknown`; a 429 raises
`ProviderThrottled` with the provider's `Retry-After` (RFC 9110: whole seconds or an HTTP date);
any other 4xx raises `ProviderRejected` with the provider's error code.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Mapping

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.billing.payments.provider import (
    Charge, ChargeRequest, InvalidWebhookSignature, PaymentProviderError, ProviderEvent, ProviderRejected,
    ProviderThrottled, ProviderUnavailable,
)

DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 says nothing usable
MAX_RETRY_AFTER = 300.0  # a longer wait is capped: the charge is simply tried again later


class HttpPaymentProvider:
    def __init__(self, base_url: str, api_key: str, webhook_secret: str, *, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport,
                                         headers={"authorization": f"Bearer {api_key}"})
        self._webhook = Webhook(webhook_secret)

    async def create_charge(self, request: ChargeRequest) -> Charge:
        body = {"amount": format(request.amount, "f"), "currency": request.currency, "method": request.method,
                "instrument": request.instrument, "description": request.description,
                "reference": request.reference}
        unknown = Charge(id=None, idempotency_key=request.idempotency_key, status="unknown",
                         amount=request.amount, amount_paid=Decimal("0.00"), failure_code=None)
        try:
            response = await self._client.post("/v1/charges", json=body,
                                               headers={"idempotency-key": request.idempotency_key})
        except httpx.TransportError:  # timeouts included: the charge may exist
            return unknown
        if response.status_code == 429:
            raise ProviderThrottled(retry_after(response))
        if response.status_code >= 500:
            return unknown
        _raise_for_rejection(response)
        return _charge(response.json())

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        try:
            response = await self._client.get("/v1/charges", params={"idempotency_key": idempotency_key})
        except httpx.TransportError as exc:
            raise ProviderUnavailable(f"payment provider unreachable: {exc!r}") from exc
        if response.status_code == 404:
            return None
        if response.status_code == 429:
            raise ProviderThrottled(retry_after(response))
        if response.status_code >= 500:
            raise ProviderUnavailable(f"payment provider answered {response.status_code}")
        _raise_for_rejection(response)
        return _charge(response.json())

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        try:
            self._webhook.verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ValueError) as exc:  # ValueError: malformed header or body bytes
            raise InvalidWebhookSignature(str(exc)) from exc
        try:
            payload = json.loads(body)
            return ProviderEvent(id=payload["id"], type=payload["type"], charge=_charge(payload["data"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise PaymentProviderError(f"signed webhook with a malformed payload: {exc!r}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def retry_after(response: httpx.Response) -> float:
    """The seconds a 429 asks us to wait: `Retry-After` as delay-seconds or an HTTP date."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value) if value.isdigit() else parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _raise_for_rejection(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()
        code, message = str(error["error"]), str(error.get("detail", ""))
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{response.status_code}", response.text[:300]
    raise ProviderRejected(code, message)


def _charge(data: Mapping[str, Any]) -> Charge:
    return Charge(id=data["id"], idempotency_key=data["idempotency_key"], status=data["status"],
                  amount=Decimal(data["amount"]), amount_paid=Decimal(data["amount_paid"]),
                  failure_code=data.get("failure_code"))
