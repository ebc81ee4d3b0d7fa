"""What a customer may have now: free plan fallback (R-E4, interpretation), check reasons, SLA."""

from __future__ import annotations

from tests.entitlements.helpers import active_contract, buy


async def _check(client, customer="cust-1", product="office365-support", feature="remote_diagnostics", **kw):
    response = await client.get(f"/v1/customers/{customer}/entitlements/check",
                                params={"product": product, "feature": feature, **kw})
    assert response.status_code == 200, response.text
    return response.json()


async def test_active_contract_entitles_plan_benefits_and_sla(shop, service):
    contract = await active_contract(shop, service, plan_id="o365-advanced")
    view = (await shop.get("/v1/customers/cust-1/entitlements")).json()
    [item] = view["entitlements"]
    assert (item["source"], item["status"], item["plan"]["id"]) == ("contract", "active", "o365-advanced")
    assert "tam" in item["benefits"] and "remote_resolution" in item["benefits"]
    assert item["excluded_categories"] == ["domain_config", "mailbox_migration", "third_party_integration"]
    assert item["sla"]["reaction"] == {"mode": "business_hours", "target_minutes": 240, "estimate_minutes": None,
                                       "limit_minutes": None, "contractual": True}
    assert item["sla"]["support_hours"]["weekly"]["sat"] == [["08:30", "16:30"]]
    assert item["priority"] == "high"
    assert item["valid_until"] == contract["ends_on"]


async def test_unpaid_contract_leaves_the_free_plan_in_force(shop):
    contract = (await buy(shop)).json()
    [item] = (await shop.get("/v1/customers/cust-1/entitlements")).json()["entitlements"]
    assert (item["source"], item["plan"]["id"], item["contract_status"]) == ("free_plan", "o365-free", "pending_payment")
    assert item["contract_id"] == contract["id"]
    assert (await _check(shop))["allowed"] is False


async def test_suspended_contract_falls_back_to_free_plan_R_E4(shop, service):
    cid = (await active_contract(shop, service))["id"]
    assert (await _check(shop)) == {"allowed": True, "plan_id": "o365-standard", "reason": "included",
                                    "contract_id": cid}
    await service.post(f"/v1/contracts/{cid}/suspend")
    assert (await _check(shop)) == {"allowed": False, "plan_id": "o365-free", "reason": "not_in_plan",
                                    "contract_id": cid}
    assert (await _check(shop, feature="availability_info")) == {
        "allowed": True, "plan_id": "o365-free", "reason": "free_plan_suspended", "contract_id": cid}
    [item] = (await shop.get("/v1/customers/cust-1/entitlements")).json()["entitlements"]
    assert (item["status"], item["plan"]["id"], item["contract_status"]) == ("free", "o365-free", "suspended")
    assert item["sla"]["reaction"]["mode"] == "business_days_round_the_clock"
    await service.post(f"/v1/contracts/{cid}/resume")
    assert (await _check(shop))["allowed"] is True


async def test_licence_without_paid_plan_gets_free_plan(shop):
    await shop.post("/v1/customers/cust-3/licences", json={"product": "office365", "reference": "t-free"})
    result = await _check(shop, customer="cust-3", feature="documented_solutions")
    assert result == {"allowed": True, "plan_id": "o365-free", "reason": "free_plan", "contract_id": None}


async def test_sage_has_no_free_plan(shop, service):
    await shop.post("/v1/customers/cust-4/licences", json={"product": "sage", "reference": "S-4"})
    result = await _check(shop, customer="cust-4", product="sage-warranty", feature="online_help")
    assert result == {"allowed": False, "plan_id": None, "reason": "no_contract", "contract_id": None}
    assert (await shop.get("/v1/customers/cust-4/entitlements")).json()["entitlements"] == []


async def test_customer_without_licence(shop):
    result = await _check(shop, customer="nobody")
    assert (result["allowed"], result["reason"]) == (False, "no_licence")


async def test_unknown_product_is_404(shop):
    response = await shop.get("/v1/customers/cust-1/entitlements/check",
                              params={"product": "nope", "feature": "x"})
    assert (response.status_code, response.json()["error"]) == (404, "product_not_found")


async def test_check_by_licence_reference(shop, service):
    await active_contract(shop, service, reference="t-paid")
    await shop.post("/v1/customers/cust-1/licences", json={"product": "office365", "reference": "t-unpaid"})
    assert (await _check(shop, licence="t-paid"))["allowed"] is True
    assert (await _check(shop, licence="t-unpaid"))["allowed"] is False
    assert (await _check(shop))["allowed"] is True  # any licence of the customer


async def test_expired_contract_falls_back_to_free_plan_R_E1(shop, service):
    await active_contract(shop, service, term_months=1)
    await service.post("/v1/contracts/expire-run", json={"as_of": "2027-01-01"})
    [item] = (await shop.get("/v1/customers/cust-1/entitlements")).json()["entitlements"]
    assert (item["source"], item["plan"]["id"], item["contract_id"]) == ("free_plan", "o365-free", None)


async def test_concurrent_checks_of_different_customers_each_get_their_own_answer(shop, service):
    """Concurrent checks are coalesced into one query on PostgreSQL; each must still see only
    its own customer's licences and contracts."""
    import asyncio

    expected = {}
    for n in range(12):
        customer = f"conc-{n}"
        if n % 3 == 0:
            await active_contract(shop, service, customer_id=customer, reference=f"t-{n}")
            expected[customer] = (True, "o365-standard", "included")
        elif n % 3 == 1:
            contract = await active_contract(shop, service, customer_id=customer, reference=f"t-{n}")
            await service.post(f"/v1/contracts/{contract['id']}/suspend")
            expected[customer] = (False, "o365-free", "not_in_plan")
        else:
            expected[customer] = (False, None, "no_licence")
    answers = await asyncio.gather(*(_check(shop, customer=c) for c in expected for _ in range(3)))
    got = [(a["allowed"], a["plan_id"], a["reason"]) for a in answers]
    assert got == [expected[c] for c in expected for _ in range(3)]


async def test_advanced_entitlement_names_the_tam_R_T8(shop, service, admin):
    contract = await active_contract(shop, service, plan_id="o365-advanced")
    await admin.put(f"/v1/contracts/{contract['id']}/representatives", json={
        "customer": {"name": "Anna", "email": "anna@contoso.pl"},
        "seller": {"name": "Piotr TAM", "email": "piotr.tam@reseller.pl"}})
    [item] = (await shop.get("/v1/customers/cust-1/entitlements")).json()["entitlements"]
    assert item["tam"]["email"] == "piotr.tam@reseller.pl"
    await active_contract(shop, service, customer_id="cust-std", reference="t-std")
    [std] = (await shop.get("/v1/customers/cust-std/entitlements")).json()["entitlements"]
    assert std["tam"] is None
