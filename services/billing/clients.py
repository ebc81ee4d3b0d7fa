"""Calls billing makes to other services (with its own service token)."""

from __future__ import annotations

from typing import Any

import httpx

from services.billing.settings import BillingSettings
from shared.http import ServiceTokenProvider, make_client


class EntitlementsClient:
    """Entitlements is the truth of plans, their prices and each contract's upgrades."""

    def __init__(self, settings: BillingSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = make_client(settings, settings.entitlements_url, ServiceTokenProvider(settings), transport)

    async def history(self, contract_id: str) -> list[dict[str, Any]]:
        response = await self._client.get(f"/v1/contracts/{contract_id}/history")
        response.raise_for_status()
        return response.json()

    async def plan(self, plan_id: str, version: int | None = None) -> dict[str, Any]:
        response = await self._client.get(f"/v1/plans/{plan_id}", params={"version": version} if version else None)
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        await self._client.aclose()
