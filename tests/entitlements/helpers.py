"""Request builders for entitlements tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

VALID_NIP = "1234563218"  # the demo buyer (Contoso); not the seller's NIP (services/billing/settings.py)


def purchase_body(customer_id: str = "cust-1", plan_id: str = "o365-standard", mode: str = "addon",
                  reference: str = "tenant-1", product: str = "office365", term_months: int = 12,
                  **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id, "plan_id": plan_id, "mode": mode,
        "licence": {"product": product, "reference": reference}, "term_months": term_months,
        "payment_method": "card",
        "billing": {"name": "Contoso sp. z o.o.", "nip": VALID_NIP, "address": "ul. Prosta 1, 00-001 Warszawa",
                    "email": "faktury@contoso.pl"},
    }
    body.update(overrides)
    return body


async def buy(shop: httpx.AsyncClient, key: str | None = None, **kw: Any) -> httpx.Response:
    return await shop.post("/v1/purchases", json=purchase_body(**kw),
                           headers={"Idempotency-Key": key or str(uuid.uuid4())})


async def active_contract(shop: httpx.AsyncClient, service: httpx.AsyncClient, **kw: Any) -> dict[str, Any]:
    response = await buy(shop, **kw)
    assert response.status_code == 201, response.text
    contract = response.json()
    activated = await service.post(f"/v1/contracts/{contract['id']}/activate")
    assert activated.status_code == 200, activated.text
    return activated.json()
