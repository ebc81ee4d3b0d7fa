"""The sandbox's outgoing webhooks: Standard Webhooks (https://www.standardwebhooks.com) signed
with the `standardwebhooks` package, retried with exponential backoff, every attempt recorded.

Per attempt: `webhook-id` is the event id (the same on retries and on a resend, so receivers can
deduplicate), `webhook-timestamp` is the wall-clock second of this attempt, `webhook-signature`
is `v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}` with exactly the body bytes sent.
A 2xx ends the delivery; any other status (redirects are not followed) or a transport error is
retried after `backoff_base * 2**(attempt - 1)` seconds, up to `max_attempts` attempts.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

_TIMEOUT_SECONDS = 5.0


class WebhookSender:
    def __init__(self, url: str, secret: str, *, max_attempts: int, backoff_base: float) -> None:
        self.url, self.max_attempts, self.backoff_base = url, max_attempts, backoff_base
        self.deliveries: list[dict[str, Any]] = []  # one per attempt, oldest first
        self._signer = Webhook(secret)
        self._client = httpx.AsyncClient(timeout=_TIMEOUT_SECONDS, follow_redirects=False,
                                         headers={"user-agent": "paysandbox-webhooks"})

    async def deliver(self, event: dict[str, Any]) -> None:
        """Sends `event` until an attempt is answered with a 2xx or the attempts run out."""
        body = json.dumps(event, separators=(",", ":")).encode("ascii")
        for attempt in range(1, self.max_attempts + 1):
            status_code, error = await self._attempt(event["id"], body)
            self.deliveries.append({
                "event_id": event["id"], "type": event["type"], "charge_id": event["data"]["id"],
                "attempt": attempt, "status_code": status_code, "error": error,
                "at": datetime.now(timezone.utc).isoformat(),
            })
            if status_code is not None and 200 <= status_code < 300:
                return
            if attempt < self.max_attempts:
                await asyncio.sleep(self.backoff_base * 2 ** (attempt - 1))

    async def _attempt(self, event_id: str, body: bytes) -> tuple[int | None, str | None]:
        timestamp = int(time.time())
        signature = self._signer.sign(msg_id=event_id, timestamp=datetime.fromtimestamp(timestamp, tz=timezone.utc),
                                      data=body.decode("ascii"))
        headers = {"content-type": "application/json", "webhook-id": event_id,
                   "webhook-timestamp": str(timestamp), "webhook-signature": signature}
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            return None, repr(exc)
        return response.status_code, None

    async def aclose(self) -> None:
        await self._client.aclose()
