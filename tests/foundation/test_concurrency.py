"""Simultaneous purchases (PostgreSQL: real concurrent transactions, one connection each)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.entitlements.helpers import buy

pytestmark = pytest.mark.usefixtures("postgres_only")

N = 20


async def test_identical_purchases_under_one_idempotency_key_make_one_contract(shop):
    responses = await asyncio.gather(*(buy(shop, key="one-key", reference="tenant-idem") for _ in range(N)))
    assert [r.status_code for r in responses] == [201] * N, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == N - 1
    listed = (await shop.get("/v1/contracts", params={"customer_id": "cust-1"})).json()["items"]
    assert [c["id"] for c in listed] == [responses[0].json()["id"]]


async def _one_winner(shop, **purchase) -> str:
    responses = await asyncio.gather(*(buy(shop, key=str(uuid.uuid4()), **purchase) for _ in range(N)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (N - 1), [r.text for r in responses if r.status_code not in (201, 409)]
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"contract_exists"}
    winner = next(r.json()["id"] for r in responses if r.status_code == 201)
    listed = (await shop.get("/v1/contracts", params={"customer_id": purchase["customer_id"]})).json()["items"]
    assert [c["id"] for c in listed] == [winner]
    return winner


async def test_standalone_purchases_with_different_keys_for_one_licence_make_one_contract(shop):
    registered = await shop.post("/v1/customers/cust-7/licences", json={"product": "office365", "reference": "t-7"})
    assert registered.status_code == 201
    await _one_winner(shop, customer_id="cust-7", mode="standalone", reference="t-7")


async def test_addon_purchases_with_different_keys_for_a_new_licence_make_one_contract(shop):
    await _one_winner(shop, customer_id="cust-8", mode="addon", reference="t-8")
    licences = (await shop.get("/v1/customers/cust-8/licences")).json()
    assert [lic["reference"] for lic in licences] == ["t-8"]
