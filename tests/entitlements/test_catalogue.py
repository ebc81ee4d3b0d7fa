"""The catalogue encodes DOMAIN.md; plans are versioned and contracts keep their terms (R-E6)."""

from __future__ import annotations

from tests.entitlements.helpers import active_contract, buy


async def test_four_products_with_their_plans(api):
    reader = api.client("customer", customer_id="anyone")
    products = {p["id"]: p for p in (await reader.get("/v1/products")).json()}
    assert set(products) == {"office365-support", "sage-warranty", "sage-subscription", "sage-professional-services"}
    assert products["office365-support"]["licence_product"] == "office365"
    assert products["sage-warranty"]["licence_product"] == "sage"
    assert [p["id"] for p in products["office365-support"]["plans"]] == ["o365-free", "o365-standard", "o365-advanced"]
    assert [p["id"] for p in products["sage-warranty"]["plans"]] == [
        "sage-warranty-basic", "sage-warranty-komfort", "sage-warranty-premium", "sage-warranty-prestige",
        "sage-warranty-vip"]
    assert [p["id"] for p in products["sage-subscription"]["plans"]] == [
        "sage-subscription-basic-plus", "sage-subscription-komfort-plus", "sage-subscription-vip-plus"]


async def test_plan_terms_match_domain(shop):
    standard = (await shop.get("/v1/plans/o365-standard")).json()
    assert standard["reaction"]["target_minutes"] == 240
    assert standard["support_hours"]["weekly"]["mon"] == [["08:30", "16:30"]]
    assert "sat" not in standard["support_hours"]["weekly"]
    free = (await shop.get("/v1/plans/o365-free")).json()
    assert (free["reaction"]["estimate_minutes"], free["reaction"]["limit_minutes"]) == (1440, 2880)
    assert free["reaction"]["contractual"] is False
    vip = (await shop.get("/v1/plans/sage-warranty-vip")).json()
    assert {"callback", "priority_dialing", "remote_help"} <= set(vip["benefits"])
    assert vip["quotas"]["remote_help_sessions"] == {"period": "month", "limit": 1, "unit": "session",
                                                     "max_per_record": None}
    assert vip["support_hours"]["weekly"]["fri"] == [["08:00", "17:00"]]
    prestige = (await shop.get("/v1/plans/sage-warranty-prestige")).json()
    assert "callback" in prestige["benefits"] and "remote_help" not in prestige["benefits"]
    assert (await shop.get("/v1/plans/nope")).json()["error"] == "plan_not_found"


async def _put_standard(admin, price):
    plan = (await admin.get("/v1/plans/o365-standard")).json()
    body = {k: plan[k] for k in ("name", "rank", "purchasable", "priority", "benefits", "excluded_categories",
                                 "support_hours", "reaction", "quotas", "overage_prices", "limits")}
    body.update(product_id="office365-support", price_net=price)
    return await admin.put("/v1/plans/o365-standard", json=body)


async def test_editing_a_plan_publishes_a_version_contracts_keep_theirs_R_E6(shop, service, admin, clock, receiver):
    old = await active_contract(shop, service, reference="before")
    edited = await _put_standard(admin, "109.00")
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["price_net"]) == (2, "109.00")
    assert edited.json()["applies_to_existing_from"].startswith("2026-12-21")
    unchanged = await _put_standard(admin, "109.00")
    assert unchanged.json()["version"] == 2  # same terms: no new version
    told = (await receiver.wait_for("contract.terms_changed"))[0]["data"]
    assert (told["contract_id"], told["email"], told["new_version"]) == (old["id"], "faktury@contoso.pl", 2)
    new = (await buy(shop, reference="after")).json()
    assert (old["plan_version"], new["plan_version"]) == (1, 2)
    assert (await shop.get("/v1/plans/o365-standard", params={"version": 1})).json()["price_net"] == "99.00"


async def test_catalogue_is_edited_by_admins_only(shop):
    response = await _put_standard(shop, "1.00")
    assert response.status_code == 403


async def test_inconsistent_catalogue_is_refused(admin):
    response = await admin.post("/v1/catalogue", json={"products": [{
        "id": "p", "name": "P", "licence_product": "x", "free_plan": "missing", "term_months": [1], "plans": []}]})
    assert (response.status_code, response.json()["error"]) == (422, "catalogue_invalid")


async def test_new_terms_reach_existing_contracts_one_month_after_publication_R_E6(shop, service, admin, clock):
    from datetime import timedelta

    await active_contract(shop, service)
    await _put_standard(admin, "109.00")
    [item] = (await shop.get("/v1/customers/cust-1/entitlements")).json()["entitlements"]
    assert item["plan"]["version"] == 1
    clock.advance(timedelta(days=30))
    [item] = (await shop.get("/v1/customers/cust-1/entitlements")).json()["entitlements"]
    assert item["plan"]["version"] == 2


async def test_catalogue_integers_are_strict_and_bounded_so_no_edit_can_stop_sales(admin, shop):
    """`[false]` was read as `[0]`: every purchase then failed `term_not_offered`. Booleans, floats
    and out-of-range integers are refused, naming the field; the product still sells."""
    product = {"name": "Wsparcie Office 365", "licence_product": "office365", "free_plan": "o365-free"}
    for terms in ([False], [12.0], [0], [121], ["12"], []):
        refused = await admin.put("/v1/products/office365-support", json={**product, "term_months": terms})
        assert refused.status_code == 422, (terms, refused.text)
        assert any("term_months" in f["field"] for f in refused.json()["fields"]), refused.json()
    from tests.entitlements.helpers import buy

    assert (await buy(shop)).status_code == 201  # the product still sells: nothing was changed


async def test_a_plan_version_past_any_integer_column_is_422_not_500(shop):
    for version in ("9223372036854775808", "35466059448977171296693518336", "2147483648"):
        response = await shop.get("/v1/plans/o365-standard", params={"version": version})
        assert (response.status_code, response.json()["error"]) == (422, "validation_error"), version



async def _plan_body(admin, plan_id, **changes):
    plan = (await admin.get(f"/v1/plans/{plan_id}")).json()
    body = {k: plan[k] for k in ("name", "rank", "purchasable", "priority", "benefits", "excluded_categories",
                                 "support_hours", "reaction", "quotas", "overage_prices", "limits", "price_net")}
    return {**body, "product_id": "office365-support", **changes}


async def test_an_edit_that_would_leave_a_product_unsellable_is_refused_and_nothing_changes(admin, shop):
    product = {"name": "Wsparcie Office 365", "licence_product": "office365", "term_months": [12]}
    unknown_free = await admin.put("/v1/products/office365-support", json={**product, "free_plan": "o365-gold"})
    assert (unknown_free.status_code, unknown_free.json()["error"]) == (422, "catalogue_invalid"), unknown_free.text

    stopped = await admin.put("/v1/plans/o365-standard", json=await _plan_body(admin, "o365-standard",
                                                                               purchasable=False))
    assert stopped.status_code == 200, stopped.text  # Advanced is still for sale
    before = (await shop.get("/v1/plans/o365-advanced")).json()["version"]
    refused = await admin.put("/v1/plans/o365-advanced", json=await _plan_body(admin, "o365-advanced",
                                                                               purchasable=False))
    assert (refused.status_code, refused.json()["error"]) == (422, "product_unsellable"), refused.text
    assert (await shop.get("/v1/plans/o365-advanced")).json()["version"] == before  # nothing was published
    # Advanced, the last plan for sale, made the free plan: refused too
    as_free = await admin.put("/v1/products/office365-support", json={**product, "free_plan": "o365-advanced"})
    assert (as_free.status_code, as_free.json()["error"]) == (422, "product_unsellable"), as_free.text
    [office] = [p for p in (await shop.get("/v1/products")).json() if p["id"] == "office365-support"]
    assert office["free_plan_id"] == "o365-free"
    assert (await buy(shop, plan_id="o365-advanced")).status_code == 201
