"""Calls from tickets to the entitlements service (HTTP, service token, retries for GETs)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from services.tickets.errors import EntitlementsUnavailable, UnknownProduct, UsageRefused
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

    async def record_usage(self, contract_id: str, *, event_id: str, metric: str, quantity: int,
                           occurred_at: datetime, reference: str | None = None) -> dict[str, Any]:
        """Consume quota (R-S4): `POST /v1/contracts/{id}/usage`. The `event_id` is also sent as the
        `Idempotency-Key`, so the shared client retries the POST safely and entitlements counts a
        repeated report once (a repeat answers 200 with the first record). Returns the usage record
        (`included`, `overage`, `period_key`, ...). Unreachable or 5xx → `EntitlementsUnavailable`;
        any other refusal → `UsageRefused` carrying the entitlements error code."""
        body = {"event_id": event_id, "metric": metric, "quantity": quantity,
                "occurred_at": occurred_at.isoformat(), "reference": reference}
        try:
            response = await self._client.post(f"/v1/contracts/{contract_id}/usage", json=body,
                                               headers={"Idempotency-Key": event_id})
        except httpx.HTTPError as exc:
            raise EntitlementsUnavailable(f"entitlements did not answer: {type(exc).__name__}") from None
        if response.status_code in (200, 201):
            return dict(response.json())
        if response.status_code >= 500 or response.status_code in (401, 429):
            raise EntitlementsUnavailable(f"entitlements answered {response.status_code}")
        try:
            error = response.json()
            code, detail = str(error.get("error")), str(error.get("detail"))
        except ValueError:
            code, detail = f"http_{response.status_code}", response.text[:300]
        raise UsageRefused(f"entitlements refused {metric} usage: {detail} ({code})", upstream=code)

    async def customer_email(self, customer_id: str, contract_id: str | None = None) -> str | None:
        """The customer's current e-mail (R-T9): the customer's representative (R-E7) on the given
        contract, else on its newest active contract, else its newest contract; the billing
        e-mail when no representative is named. None when the customer has no contract."""
        body = await self._get(("contracts", customer_id), "/v1/contracts",
                               {"customer_id": customer_id, "limit": "200"})
        contracts = list(body.get("items", []))
        chosen = ([c for c in contracts if c["id"] == contract_id]
                  or [c for c in contracts if c["status"] == "active"] or contracts)
        if not chosen:
            return None
        contract = chosen[-1]  # ids are time-ordered: the newest
        representative = (contract.get("representatives") or {}).get("customer") or {}
        return representative.get("email") or (contract.get("billing") or {}).get("email")

    def forget(self, customer_id: str) -> None:
        """Drop cached answers for a customer (e.g. after a contract event)."""
        for key in [k for k in self._cache if len(k) > 1 and k[1] == customer_id]:
            del self._cache[key]

    async def aclose(self) -> None:
        await self._client.aclose()
