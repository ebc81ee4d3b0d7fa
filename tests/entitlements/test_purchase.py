"""Purchases: R-E1, R-E2, idempotency, bad input."""

from __future__ import annotations

import uuid

from tests.entitlements.helpers import VALID_NIP, buy, purchase_body


async def test_addon_purchase_registers_licence_and_creates_pending_contract_R_E2(shop, receiver):
    response = await buy(shop, customer_id="cust-1", reference="tenant-a")
    assert response.status_code == 201, response.text
    contract = response.json()
    assert contract["status"] == "pending_payment"
    assert contract["plan_id"] == "o365-standard" and contract["customer_id"] == "cust-1"
    assert contract["licence"]["reference"] == "tenant-a"
    # R-E1/R-B11: 12 months from 21 Nov 2026 run through 20 Nov 2027
    assert (contract["starts_on"], contract["ends_on"]) == ("2026-11-21", "2027-11-20")
    licences = await shop.get("/v1/customers/cust-1/licences")
    assert [lic["reference"] for lic in licences.json()] == ["tenant-a"]
    created = await receiver.wait_for("contract.created")
    assert created[0]["data"]["contract_id"] == contract["id"]
    assert created[0]["data"]["price_net"] == "99.00"


async def test_standalone_purchase_for_known_licence_R_E2(shop):
    registered = await shop.post("/v1/customers/cust-2/licences",
                                 json={"product": "sage", "reference": "SAGE-123", "order_ref": "ORD-9"})
    assert registered.status_code == 201, registered.text
    response = await buy(shop, customer_id="cust-2", plan_id="sage-warranty-vip", mode="standalone",
                         product="sage", reference="SAGE-123")
    assert response.status_code == 201, response.text
    assert response.json()["licence"]["id"] == registered.json()["id"]


async def test_standalone_purchase_for_unknown_licence_is_refused_R_E2(shop):
    response = await buy(shop, mode="standalone", reference="never-sold")
    assert response.status_code == 422
    assert response.json()["error"] == "licence_not_found"
    listed = await shop.get("/v1/contracts", params={"customer_id": "cust-1"})
    assert listed.json()["items"] == []


async def test_standalone_for_another_customers_licence_is_refused_R_E2(shop):
    await shop.post("/v1/customers/owner/licences", json={"product": "office365", "reference": "t-owned"})
    response = await buy(shop, customer_id="intruder", mode="standalone", reference="t-owned")
    assert response.json()["error"] == "licence_not_found"


async def test_second_live_contract_for_licence_and_product_is_409(shop):
    assert (await buy(shop, reference="tenant-x")).status_code == 201
    again = await buy(shop, reference="tenant-x", plan_id="o365-advanced")
    assert again.status_code == 409
    assert again.json()["error"] == "contract_exists"


async def test_other_product_on_same_licence_is_allowed(shop):
    await shop.post("/v1/customers/cust-1/licences", json={"product": "sage", "reference": "S-1"})
    first = await buy(shop, plan_id="sage-warranty-komfort", mode="standalone", product="sage", reference="S-1")
    second = await buy(shop, plan_id="sage-subscription-vip-plus", mode="standalone", product="sage", reference="S-1")
    assert (first.status_code, second.status_code) == (201, 201)


async def test_invalid_nip_is_422_invalid_nip(shop):
    body = purchase_body()
    body["billing"]["nip"] = "1234567890"
    response = await shop.post("/v1/purchases", json=body, headers={"Idempotency-Key": "k-nip"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_nip"
    assert "billing.nip" in response.json()["detail"]


async def test_the_seller_cannot_be_the_buyer_422_buyer_is_seller(shop, settings):
    body = purchase_body(customer_id="cust-self", reference="tenant-self")
    seller = settings.seller_nip
    body["billing"]["nip"] = f"PL {seller[:3]}-{seller[3:6]}-{seller[6:8]}-{seller[8:]}"  # written any valid way
    response = await shop.post("/v1/purchases", json=body, headers={"Idempotency-Key": "k-self"})
    assert (response.status_code, response.json()["error"]) == (422, "buyer_is_seller")
    assert seller in response.json()["detail"]
    assert (await shop.get("/v1/contracts", params={"customer_id": "cust-self"})).json()["items"] == []
    assert (await shop.get("/v1/customers/cust-self/licences")).json() == []  # nothing registered either
    body["billing"]["nip"] = "1234563218"  # the customer's own NIP: bought, under a fresh key
    fixed = await shop.post("/v1/purchases", json=body, headers={"Idempotency-Key": "k-self-fixed"})
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["billing"]["nip"] == "1234563218"


async def test_free_plan_cannot_be_bought(shop):
    response = await buy(shop, plan_id="o365-free")
    assert (response.status_code, response.json()["error"]) == (422, "plan_not_purchasable")


async def test_term_not_offered_and_licence_product_mismatch(shop):
    assert (await buy(shop, term_months=7)).json()["error"] == "term_not_offered"
    assert (await buy(shop, product="sage")).json()["error"] == "licence_product_mismatch"


async def test_professional_services_only_for_12_months_R_E10(shop):
    await shop.post("/v1/customers/cust-1/licences", json={"product": "sage", "reference": "S-9"})
    refused = await buy(shop, plan_id="sage-professional-services", mode="standalone", product="sage",
                        reference="S-9", term_months=24)
    assert refused.json()["error"] == "term_not_offered"
    ok = await buy(shop, plan_id="sage-professional-services", mode="standalone", product="sage", reference="S-9")
    assert ok.json()["ends_on"] == "2027-11-20"


async def test_idempotency_key_replays_first_response(shop):
    first = await buy(shop, key="same-key")
    second = await buy(shop, key="same-key")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    listed = await shop.get("/v1/contracts", params={"customer_id": "cust-1"})
    assert len(listed.json()["items"]) == 1


async def test_idempotency_key_with_different_body_is_422(shop):
    await buy(shop, key="k-reuse")
    response = await buy(shop, key="k-reuse", reference="another-tenant")
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"


async def test_purchase_without_idempotency_key_is_refused(shop):
    response = await shop.post("/v1/purchases", json=purchase_body())
    assert (response.status_code, response.json()["error"]) == (400, "idempotency_key_required")


async def test_failed_request_leaves_no_key_so_a_fixed_retry_succeeds(shop):
    key = str(uuid.uuid4())
    refused = await buy(shop, key=key, mode="standalone", reference="later")
    assert refused.json()["error"] == "licence_not_found"
    await shop.post("/v1/customers/cust-1/licences", json={"product": "office365", "reference": "later"})
    retried = await buy(shop, key=key, mode="standalone", reference="later")
    assert retried.status_code == 201


async def test_unknown_fields_are_rejected_naming_the_field(shop):
    body = purchase_body(discount="100%")
    response = await shop.post("/v1/purchases", json=body, headers={"Idempotency-Key": "k-unknown"})
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_field"
    assert "discount" in response.json()["detail"]


async def test_missing_field_names_the_field(shop):
    body = purchase_body()
    del body["payment_method"]
    response = await shop.post("/v1/purchases", json=body, headers={"Idempotency-Key": "k-missing"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert "payment_method" in response.json()["detail"]


async def test_malformed_json_is_422_invalid_json(shop):
    response = await shop.post("/v1/purchases", content=b"{not json", headers={
        "Idempotency-Key": "k-json", "content-type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (422, "invalid_json")


async def test_customer_cannot_buy(api):
    customer = api.client("customer", customer_id="cust-1")
    response = await buy(customer)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_text_that_xml_cannot_carry_is_refused_naming_the_field_not_stripped(shop):
    """A buyer's name with a control character was issued on an invoice whose KSeF XML could then
    never be written (R-B10): refused at the purchase, 422 naming the field."""
    for bad in ("Acme\u0001Ltd", "Acme\u0000Ltd", "Acme\u000bLtd", "Acme\ufffeLtd"):
        body = purchase_body(billing={"name": bad, "nip": VALID_NIP, "address": "ul. Prosta 1, 00-001 Warszawa",
                                      "email": "faktury@contoso.pl"})
        response = await shop.post("/v1/purchases", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 422, (repr(bad), response.text)
        assert [f["field"] for f in response.json()["fields"]] == ["body.billing.name"], response.json()
    fine = purchase_body(billing={"name": "Zażółć\tgęślą jaźń sp. z o.o.", "nip": VALID_NIP,
                                  "address": "ul. Prosta 1, 00-001 Warszawa", "email": "faktury@contoso.pl"})
    assert (await shop.post("/v1/purchases", json=fine, headers={"Idempotency-Key": str(uuid.uuid4())})
            ).status_code == 201


async def test_an_address_without_postal_code_and_city_is_refused_and_a_structured_one_kept_R_B10(shop):
    one_line = purchase_body(billing={"name": "Contoso", "nip": VALID_NIP, "address": "ul. Prosta 1",
                                      "email": "faktury@contoso.pl"})
    refused = await shop.post("/v1/purchases", json=one_line, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert refused.status_code == 422 and [f["field"] for f in refused.json()["fields"]] == ["body.billing.address"]
    bad_code = purchase_body(billing={"name": "Contoso", "nip": VALID_NIP, "street": "ul. Prosta 1",
                                      "postal_code": "00001", "city": "Warszawa", "email": "faktury@contoso.pl"})
    refused = await shop.post("/v1/purchases", json=bad_code, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert refused.status_code == 422 and [f["field"] for f in refused.json()["fields"]] == [
        "body.billing.postal_code"]
    structured = purchase_body(billing={"name": "Contoso", "nip": VALID_NIP, "street": "ul. Prosta 1",
                                        "postal_code": "00-001", "city": "Warszawa", "email": "faktury@contoso.pl"})
    bought = await shop.post("/v1/purchases", json=structured, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert bought.status_code == 201, bought.text
    billing = bought.json()["billing"]
    assert (billing["address"], billing["street"], billing["postal_code"], billing["city"]) == (
        "ul. Prosta 1, 00-001 Warszawa", "ul. Prosta 1", "00-001", "Warszawa")
