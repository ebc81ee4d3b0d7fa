"""Upgrades: R-E3 (never down), R-B7 (prorated supplement), switch when paid."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import WARSAW
from tests.entitlements.helpers import active_contract


async def test_upgrade_quote_is_the_domain_example_R_B7(shop, service, receiver):
    cid = (await active_contract(shop, service))["id"]
    response = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced", "as_of": "2026-11-21"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["quote"] == {"net": "66.67", "vat": "15.33", "gross": "82.00", "currency": "PLN",
                             "monthly_difference": "200.00", "remaining_days": 10, "days_in_month": 30}
    assert body["status"] == "pending_payment"
    event = (await receiver.wait_for("contract.upgrade_requested"))[0]["data"]
    assert (event["to_plan_id"], event["quote"]["gross"]) == ("o365-advanced", "82.00")
    contract = (await shop.get(f"/v1/contracts/{cid}")).json()
    assert contract["plan_id"] == "o365-standard"  # not before it is paid
    assert contract["pending_upgrade"]["plan_id"] == "o365-advanced"


async def test_plan_switches_when_billing_reports_the_upgrade_paid_R_B7(shop, service, receiver):
    cid = (await active_contract(shop, service))["id"]
    await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced"})
    paid = await service.post("/v1/events", json={
        "id": "evt_upgrade_paid_1", "type": "contract.upgrade_paid", "source": "billing",
        "occurred_at": "2026-11-21T10:00:00Z", "data": {"contract_id": cid, "plan_id": "o365-advanced"}})
    assert paid.json()["outcome"] == "applied"
    contract = (await shop.get(f"/v1/contracts/{cid}")).json()
    assert (contract["plan_id"], contract["previous_plan_id"], contract["pending_upgrade"]) == (
        "o365-advanced", "o365-standard", None)
    assert contract["plan_changed_on"] == "2026-11-21"
    check = await shop.get("/v1/customers/cust-1/entitlements/check",
                           params={"product": "office365-support", "feature": "admin_management"})
    assert check.json() == {"allowed": True, "plan_id": "o365-advanced", "reason": "included", "contract_id": cid}
    await receiver.wait_for("contract.upgraded")


async def test_downgrade_and_same_rank_are_refused_R_E3(shop, service):
    cid = (await active_contract(shop, service, plan_id="o365-advanced"))["id"]
    down = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-standard"})
    assert (down.status_code, down.json()["error"]) == (409, "downgrade_not_allowed")
    same = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced"})
    assert same.json()["error"] == "downgrade_not_allowed"
    free = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-free"})
    assert free.json()["error"] == "downgrade_not_allowed"


async def test_upgrade_to_another_products_plan_is_refused(shop, service):
    cid = (await active_contract(shop, service))["id"]
    response = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "sage-warranty-vip"})
    assert (response.status_code, response.json()["error"]) == (422, "plan_not_in_product")


async def test_second_upgrade_while_one_is_unpaid_is_409(shop, service):
    await shop.post("/v1/customers/cust-1/licences", json={"product": "sage", "reference": "S-2"})
    cid = (await active_contract(shop, service, plan_id="sage-warranty-basic", mode="standalone", product="sage",
                                 reference="S-2"))["id"]
    assert (await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "sage-warranty-premium"})).status_code == 200
    again = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "sage-warranty-vip"})
    assert again.json()["error"] == "upgrade_pending"


async def test_only_an_active_contract_is_upgraded(shop, service):
    contract = (await shop.post("/v1/purchases", json={
        "customer_id": "c", "plan_id": "o365-standard", "mode": "addon",
        "licence": {"product": "office365", "reference": "pending"}, "term_months": 1, "payment_method": "card",
        "billing": {"name": "X", "nip": "1234563218", "address": "ul. A 1, 00-001 Warszawa", "email": "x@example.com"}},
        headers={"Idempotency-Key": "pending-upgrade"})).json()
    response = await shop.post(f"/v1/contracts/{contract['id']}/upgrade", json={"plan_id": "o365-advanced"})
    assert (response.status_code, response.json()["error"]) == (409, "invalid_transition")


async def test_upgrade_date_outside_the_term_is_refused(shop, service):
    cid = (await active_contract(shop, service))["id"]
    response = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced", "as_of": "2028-01-01"})
    assert response.json()["error"] == "date_outside_term"


async def test_upgrade_on_last_day_of_month_charges_one_day_R_B7(shop, service, api):
    cid = (await active_contract(shop, service))["id"]
    api.clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=WARSAW))
    response = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced", "as_of": "2026-11-30"})
    quote = response.json()["quote"]
    assert (quote["net"], quote["vat"], quote["gross"], quote["remaining_days"]) == ("6.67", "1.53", "8.20", 1)


async def test_an_upgrade_dated_after_today_is_refused_not_applied_early_R_B7(shop, service):
    cid = (await active_contract(shop, service))["id"]  # today is 21 November 2026
    response = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced", "as_of": "2026-11-22"})
    assert (response.status_code, response.json()["error"]) == (422, "upgrade_date_in_future")
    contract = (await shop.get(f"/v1/contracts/{cid}")).json()
    assert (contract["plan_id"], contract["pending_upgrade"]) == ("o365-standard", None)
    today = await shop.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced", "as_of": "2026-11-21"})
    assert today.status_code == 200, today.text


async def test_customer_may_upgrade_own_contract_but_not_anothers(shop, service, api):
    cid = (await active_contract(shop, service, customer_id="cust-9"))["id"]
    other = api.client("customer", customer_id="cust-8")
    assert (await other.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced"})).status_code == 404
    own = api.client("customer", customer_id="cust-9")
    assert (await own.post(f"/v1/contracts/{cid}/upgrade", json={"plan_id": "o365-advanced"})).status_code == 200
