"""Outgoing Standard Webhooks (https://www.standardwebhooks.com) to the targets configured in
settings (the CRM, the shop), signed with the `standardwebhooks` package; the wire format
(`signed_request`, `post_signed`) is shared with the API-managed endpoints (shared/webhook_endpoints/).

A webhook is one more outbox sink: `Runtime.resolve_sinks` adds the names of matching webhooks
to the event's sinks, the relay writes one row per sink and retries each with its own backoff and
dead letter, and `CompositeDeliverer` sends a webhook's rows here instead of to the internal
`HttpSinkDeliverer`. External endpoints never see a service token.

Per delivery attempt: `webhook-id` is the event id (the same on every retry, so receivers can
deduplicate), `webhook-timestamp` is the wall-clock time of this attempt (receivers reject
timestamps more than a few minutes off *their* clock, so it is not the injected business clock
and not the event's creation time), and `webhook-signature` is `v1,<base64 HMAC-SHA256>` over
`{id}.{timestamp}.{body}` with exactly the body bytes sent.
"""

from __future__ import annotations

import fnmatch
import json
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import httpx
from standardwebhooks.webhooks import Webhook

from shared.infra_models import OutboxMessage
from shared.outbox import Deliverer, close_deliverers
from shared.settings import ServiceSettings, WebhookTarget

_ERROR_EXCERPT_BYTES = 300


def webhooks_for(event_type: str, webhooks: Mapping[str, WebhookTarget]) -> list[str]:
    """Names of the webhooks whose patterns match `event_type`."""
    return [name for name, hook in webhooks.items() if any(fnmatch.fnmatchcase(event_type, p) for p in hook.events)]


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON, ASCII only."""
    return json.dumps(payload, separators=(",", ":")).encode("ascii")


def signed_request(secret: str | Webhook, event_id: str, payload: dict[str, Any], *, timestamp: int
                   ) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one attempt to deliver `payload`, signed with `secret` (a `whsec_…`
    string or a `Webhook` built from one) at the wall-clock second `timestamp`. Used for the
    configured webhooks here and for the endpoints managed through the API
    (shared/webhook_endpoints)."""
    signer = secret if isinstance(secret, Webhook) else Webhook(secret)
    body = webhook_body(payload)
    # sign() takes the body as str (bytes would be signed as their repr, "b'…'") and a datetime
    # whose tzinfo it *replaces* with UTC rather than converting: hand it an aware UTC datetime.
    signature = signer.sign(msg_id=event_id, timestamp=datetime.fromtimestamp(timestamp, tz=timezone.utc),
                            data=body.decode("ascii"))
    headers = {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    return body, headers


async def post_signed(client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str]
                      ) -> tuple[int, str | None]:
    """POSTs one signed attempt: its status, and None for a 2xx or else the first bytes of the
    answer (decoded leniently). Transport errors (httpx) are raised."""
    async with client.stream("POST", url, content=body, headers=headers) as response:
        if 200 <= response.status_code < 300:
            return response.status_code, None
        excerpt = b""
        async for chunk in response.aiter_bytes():
            excerpt += chunk
            if len(excerpt) >= _ERROR_EXCERPT_BYTES:
                break
    return response.status_code, excerpt[:_ERROR_EXCERPT_BYTES].decode("utf-8", "replace")


class WebhookDeliverer:
    """Delivers outbox rows whose sink is a configured webhook: a signed `POST <url>` with the
    event envelope. A 2xx is success; any other status (redirects are not followed) or a
    transport error raises, so the relay retries with backoff and finally dead-letters."""

    def __init__(self, settings: ServiceSettings, *, transport: httpx.AsyncBaseTransport | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.wall_clock = wall_clock
        self._signers = {name: Webhook(hook.secret) for name, hook in settings.webhooks.items()}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout), transport=transport, follow_redirects=False,
            headers={"user-agent": f"support-platform/{settings.service_name}-webhooks"},
        )

    def signed_request(self, sink: str, message: OutboxMessage) -> tuple[str, bytes, dict[str, str]]:
        """URL, body and headers of one attempt (separate from sending, for tests and tooling)."""
        target = self.settings.webhooks.get(sink)
        if target is None:
            raise LookupError(f"no webhook named {sink!r} is configured")
        body, headers = signed_request(self._signers[sink], message.event_id, message.payload,
                                       timestamp=int(self.wall_clock()))
        return target.url, body, headers

    async def __call__(self, sink: str, message: OutboxMessage) -> None:
        url, body, headers = self.signed_request(sink, message)
        status, excerpt = await post_signed(self._client, url, body, headers)
        if excerpt is not None:
            raise RuntimeError(f"webhook {sink!r} ({url}) answered {status}: {excerpt}")

    async def aclose(self) -> None:
        await self._client.aclose()


class CompositeDeliverer:
    """Routes each outbox row by its sink name: to the deliverer registered for that name, else
    to `default` (the internal `HttpSinkDeliverer`, which refuses names it does not know)."""

    def __init__(self, default: Deliverer, routes: Mapping[str, Deliverer] | None = None) -> None:
        self.default = default
        self.routes = dict(routes or {})

    def for_sink(self, sink: str) -> Deliverer:
        return self.routes.get(sink, self.default)

    async def __call__(self, sink: str, message: OutboxMessage) -> None:
        await self.for_sink(sink)(sink, message)

    async def aclose(self) -> None:
        """Closes every distinct deliverer that can be closed, even when one of them fails."""
        await close_deliverers([self.default, *self.routes.values()])
