"""`supportctl volume entitlements`: a reseller's contracts loaded with COPY answer through the
API as the draw says (active: the plan's benefits; suspended: the free plan's, R-E4), and they
are the same contracts `supportctl volume billing` loads for the same seed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date

import pytest

from services.cli.volume.app import asyncpg_dsn
from services.cli.volume.billing import billing_rows
from services.cli.volume.contracts import draw
from services.cli.volume.entitlements import CatalogueMissing, entitlements_rows, load_entitlements

N = 300
SEED = 4242

# sha256 of repr(billing_rows(...)), computed before the draw moved to services/cli/volume/contracts.py:
# the billing volume data must not change when the draw is shared.
BILLING_ROWS_SHA256 = {
    (1000, 4242, 0, None): "e8b208b5a89757430980cdf9cd71d60eb7e1746efe613a0d68b51572da7cc6fa",
    (500, 7, 20000, None): "8d4b8470f0204badc6d85a0f0178fa84b613fcda94ecbd70e00ed837cbfbaec9",
    (300, 4242, 0, date(2027, 3, 1)): "b953e899bebe3302c02536c3639a8e92bc4f7f1d3d85d5cdf392e900f83718a2",
}


@pytest.mark.parametrize("n, seed, start, today", list(BILLING_ROWS_SHA256))
def test_billing_volume_rows_are_byte_identical_to_before_the_draw_was_shared(n, seed, start, today):
    rows = billing_rows(n, seed=seed, start=start, **({"today": today} if today else {}))
    assert hashlib.sha256(repr(rows).encode()).hexdigest() == BILLING_ROWS_SHA256[(n, seed, start, today)]


def test_entitlements_and_billing_volume_data_describe_the_same_contracts():
    versions = {"o365-standard": 1, "o365-advanced": 1, "o365-free": 1}
    for start in (0, 20_000):
        accounts, _, _ = billing_rows(200, seed=SEED, start=start)
        _, (_, columns, contracts), _ = entitlements_rows(200, licence_product="office365", versions=versions,
                                                          seed=SEED, start=start)
        ours = [dict(zip(columns, row)) for row in contracts]
        assert [a[0] for a in accounts] == [c["id"] for c in ours]
        for account, contract in zip(accounts, ours):
            assert (account[1], account[4], account[8], account[9], account[10], account[12]) == (
                contract["customer_id"], contract["plan_id"], contract["status"], contract["starts_on"],
                contract["ends_on"], contract["payment_method"])
            billing = json.loads(contract["billing"])
            assert {k: billing[k] for k in json.loads(account[11])} == json.loads(account[11])
            assert billing["payment_instrument"] == account[13]


async def test_loading_before_the_catalogue_is_refused(database_url, postgres_only):
    with pytest.raises(CatalogueMissing):
        await load_entitlements(asyncpg_dsn(database_url), 10)


async def test_loaded_contracts_answer_through_the_api_as_drawn_R_E4(api, settings, postgres_only):
    counts = await load_entitlements(asyncpg_dsn(settings.database_url), N, seed=SEED)
    drawn = list(draw(N, seed=SEED))
    suspended = sum(c.suspended for c in drawn)
    assert counts == {"licence": N, "contract": N, "contract_history": 2 * N + suspended}

    # every contract listed once, with the drawn status
    shop, listed, cursor = api.client("shop"), Counter(), None
    while True:
        page = (await shop.get("/v1/contracts", params={"limit": 200, **({"cursor": cursor} if cursor else {})})).json()
        listed.update((c["status"], c["plan_id"]) for c in page["items"])
        if not (cursor := page["next_cursor"]):
            break
    assert listed == Counter((c.status, c.plan_id) for c in drawn)
    assert 0 < suspended < N

    crm = api.client("crm")

    async def check(customer: str, feature: str) -> dict:
        response = await crm.get(f"/v1/customers/{customer}/entitlements/check",
                                 params={"product": "office365-support", "feature": feature})
        assert response.status_code == 200, response.text
        return response.json()

    standard = next(c for c in drawn if c.plan_id == "o365-standard" and not c.suspended)
    held = next(c for c in drawn if c.plan_id == "o365-standard" and c.suspended)
    advanced = next(c for c in drawn if c.plan_id == "o365-advanced" and not c.suspended)

    # the customer's own view of its contract and its listing
    mine = api.client("customer", standard.customer_id)
    got = await mine.get(f"/v1/contracts/{standard.contract_id}")
    assert got.status_code == 200, got.text
    assert (got.json()["status"], got.json()["plan_id"], got.json()["ends_on"]) == (
        "active", "o365-standard", standard.ends_on.isoformat())
    own = (await mine.get("/v1/contracts")).json()["items"]
    assert [c["id"] for c in own] == [standard.contract_id]
    assert (await mine.get(f"/v1/contracts/{held.contract_id}")).status_code == 404  # not its own

    assert await check(standard.customer_id, "remote_diagnostics") == {
        "allowed": True, "plan_id": "o365-standard", "reason": "included", "contract_id": standard.contract_id}
    assert (await check(advanced.customer_id, "remote_diagnostics"))["reason"] == "included"
    # R-E4: a suspended contract leaves only the free plan's benefits
    assert await check(held.customer_id, "remote_diagnostics") == {
        "allowed": False, "plan_id": "o365-free", "reason": "not_in_plan", "contract_id": held.contract_id}
    assert await check(held.customer_id, "availability_info") == {
        "allowed": True, "plan_id": "o365-free", "reason": "free_plan_suspended", "contract_id": held.contract_id}
    assert (await check("cust-vol-unknown", "availability_info"))["reason"] == "no_licence"

    view = (await crm.get(f"/v1/customers/{held.customer_id}/entitlements")).json()["entitlements"]
    assert [(e["source"], e["plan"]["id"], e["contract_status"]) for e in view] == [
        ("free_plan", "o365-free", "suspended")]
