"""Outgoing HTTP: one factory for clients to other services.

Every call carries a service token and the current request id, has a timeout, and is retried
with backoff only when it is safe: idempotent methods, or a POST with an Idempotency-Key.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from httpx_retries import Retry, RetryTransport

from shared.context import REQUEST_ID_HEADER, current_request_id
from shared.devkeys import mint_token
from shared.infra_models import OutboxMessage
from shared.settings import ServiceSettings

_RETRY_STATUSES = (429, 502, 503, 504)


class ServiceTokenProvider:
    """Mints (and caches) this service's own token with the configured signing key."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        if self._token and time.time() < self._expires - 30:
            return self._token
        if not self.settings.signing_key_file:
            raise RuntimeError(f"{self.settings.service_name}: signing_key_file is not configured")
        pem = Path(self.settings.signing_key_file).read_text()
        ttl = self.settings.service_token_ttl
        self._token = mint_token(pem, kid=self.settings.signing_key_id, issuer=self.settings.jwt_issuer,
                                 audience=self.settings.jwt_audience, subject=f"svc:{self.settings.service_name}",
                                 role="service", ttl=ttl)
        self._expires = time.time() + ttl
        return self._token


def make_client(settings: ServiceSettings, base_url: str, tokens: ServiceTokenProvider | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    safe_retry = Retry(total=settings.http_retries, backoff_factor=0.25, status_forcelist=_RETRY_STATUSES)
    post_retry = Retry(total=settings.http_retries, backoff_factor=0.25, status_forcelist=_RETRY_STATUSES,
                       allowed_methods=["POST", *Retry.RETRYABLE_METHODS])

    async def _on_request(request: httpx.Request) -> None:
        rid = current_request_id()
        if rid and REQUEST_ID_HEADER not in request.headers:
            request.headers[REQUEST_ID_HEADER] = rid
        if tokens is not None and "authorization" not in request.headers:
            request.headers["authorization"] = f"Bearer {tokens.token()}"
        if request.method == "POST" and "idempotency-key" in request.headers:
            request.extensions["retry"] = post_retry

    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(settings.http_timeout, connect=min(2.0, settings.http_timeout)),
        transport=RetryTransport(transport=transport or httpx.AsyncHTTPTransport(), retry=safe_retry),
        event_hooks={"request": [_on_request]},
        headers={"user-agent": f"support-platform/{settings.service_name}"},
    )


class HttpSinkDeliverer:
    """Delivers outbox messages to the sinks configured in settings (`POST <url>` with the event
    envelope); the receiver's inbox makes repeats harmless."""

    def __init__(self, settings: ServiceSettings, tokens: ServiceTokenProvider,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout), transport=transport,
            headers={"user-agent": f"support-platform/{settings.service_name}-relay"},
        )
        self.tokens = tokens

    async def __call__(self, sink: str, message: OutboxMessage) -> None:
        target = self.settings.event_sinks.get(sink)
        if target is None:
            raise LookupError(f"no sink named {sink!r} is configured")
        headers: dict[str, Any] = {
            "authorization": f"Bearer {self.tokens.token()}",
            "idempotency-key": message.event_id,
            "webhook-id": message.event_id,
            "webhook-timestamp": str(int(message.created_at.timestamp())),
        }
        if message.request_id:
            headers[REQUEST_ID_HEADER] = message.request_id
        response = await self._client.post(target.url, json=message.payload, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"{target.url} answered {response.status_code}: {response.text[:300]}")

    async def aclose(self) -> None:
        await self._client.aclose()
