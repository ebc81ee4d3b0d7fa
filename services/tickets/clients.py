"""Calls from tickets to the entitlements service (HTTP, service token, retries for GETs)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from services.tickets.errors import EntitlementsUnavailable, UnknownProduct
from shared.http import ServiceTokenProvider, make_client
from shared.settings import ServiceSettings


class EntitlementsClient:
    """What a customer may have now, per licence, for one support product; answers are cached
    briefly (`entitlement_cache_seconds`) because a ticket keeps a snapshot anyway."""

    def __init__(self, settings: ServiceSettings, tokens: ServiceTokenProvider, cache_seconds: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = make_client(settings, settings.entitlements_url, tokens, transport=transport)
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}

    async def _get(self, key: tuple[str, ...], path: str, params: dict[str, str] | None = None) -> Any:
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise EntitlementsUnavailable(f"entitlements did not answer: {type(exc).__name__}") from None
        if response.status_code == 404 and response.json().get("error") in ("product_not_found", "plan_not_found"):
            raise UnknownProduct(response.json()["detail"])
        if response.status_code != 200:
            raise EntitlementsUnavailable(f"entitlements answered {response.status_code}")
        body = response.json()
        self._cache[key] = (time.monotonic(), body)
        return body

    async def entitlements(self, customer_id: str, product_id: str) -> list[dict[str, Any]]:
        body = await self._get(("ent", customer_id, product_id), f"/v1/customers/{customer_id}/entitlements",
                               {"product": product_id})
        return list(body["entitlements"])

    async def plan(self, plan_id: str) -> dict[str, Any]:
        return await self._get(("plan", plan_id), f"/v1/plans/{plan_id}")

    def forget(self, customer_id: str) -> None:
        """Drop cached answers for a customer (e.g. after a contract event)."""
        for key in [k for k in self._cache if len(k) > 1 and k[1] == customer_id]:
            del self._cache[key]

    async def aclose(self) -> None:
        await self._client.aclose()
