"""Contract life cycle: R-E1, R-E4, R-E5, R-E6, R-E7, R-E8, with audit history and events."""

from __future__ import annotations

from datetime import timedelta

from tests.entitlements.helpers import active_contract, buy


async def test_activate_suspend_resume_with_history_and_events_R_E4(shop, service, receiver):
    contract = await active_contract(shop, service)
    cid = contract["id"]
    assert contract["status"] == "active" and contract["activated_at"]
    suspended = await service.post(f"/v1/contracts/{cid}/suspend", json={"reason": "invoice FV/2026/11/000001 unpaid"})
    assert suspended.json()["status"] == "suspended"
    resumed = await service.post(f"/v1/contracts/{cid}/resume")
    assert resumed.json()["status"] == "active"
    history = (await shop.get(f"/v1/contracts/{cid}/history")).json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("created", None, "pending_payment"), ("activate", "pending_payment", "active"),
        ("suspend", "active", "suspended"), ("resume", "suspended", "active")]
    assert history[2]["reason"] == "invoice FV/2026/11/000001 unpaid"
    assert history[2]["actor"] == "test-service"
    for event_type in ("contract.activated", "contract.suspended", "contract.resumed"):
        assert (await receiver.wait_for(event_type))[0]["data"]["contract_id"] == cid


async def test_illegal_transition_is_409_naming_current_state(shop, service):
    contract = (await buy(shop)).json()
    response = await service.post(f"/v1/contracts/{contract['id']}/resume")
    assert response.status_code == 409
    assert response.json()["error"] == "invalid_transition"
    assert "pending_payment" in response.json()["detail"]


async def test_life_cycle_needs_service_or_admin(shop, api):
    contract = (await buy(shop)).json()
    assert (await shop.post(f"/v1/contracts/{contract['id']}/activate")).status_code == 403
    assert (await api.client("admin").post(f"/v1/contracts/{contract['id']}/activate")).status_code == 200


async def test_unknown_contract_is_404(service):
    response = await service.post("/v1/contracts/ctr_nope/activate")
    assert (response.status_code, response.json()["error"]) == (404, "contract_not_found")


async def test_expire_run_ends_contracts_after_their_term_R_E1(shop, service, receiver):
    contract = await active_contract(shop, service, term_months=1)
    assert contract["ends_on"] == "2026-12-20"
    early = await service.post("/v1/contracts/expire-run", json={"as_of": "2026-12-20"})
    assert early.json()["expired"] == []
    run = await service.post("/v1/contracts/expire-run", json={"as_of": "2026-12-21"})
    assert run.json()["expired"] == [contract["id"]]
    after = (await shop.get(f"/v1/contracts/{contract['id']}")).json()
    assert (after["status"], after["ended_on"], after["end_reason"]) == ("expired", "2026-12-20", "term_ended")
    await receiver.wait_for("contract.expired")
    again = await service.post("/v1/contracts/expire-run", json={"as_of": "2026-12-22"})
    assert again.json()["expired"] == []


async def test_expired_licence_may_buy_again(shop, service):
    contract = await active_contract(shop, service, term_months=1, reference="renew-me")
    await service.post("/v1/contracts/expire-run", json={"as_of": "2027-01-01"})
    again = await buy(shop, reference="renew-me", mode="standalone")
    assert again.status_code == 201
    assert again.json()["id"] != contract["id"]


async def test_seller_terminates_for_non_payment_only_when_more_than_7_days_late_R_E5(shop, service):
    contract = await active_contract(shop, service)
    cid = contract["id"]
    refused = await service.post(f"/v1/contracts/{cid}/terminate", json={"reason": "payment_overdue"})
    assert (refused.status_code, refused.json()["error"]) == (409, "termination_not_allowed")
    marked = await service.post("/v1/events", json={
        "id": "evt_terminable_1", "type": "contract.terminable", "source": "billing",
        "occurred_at": "2026-11-21T09:00:00Z", "data": {"contract_id": cid, "since": "2026-11-21"}})
    assert marked.json()["outcome"] == "applied"
    done = await service.post(f"/v1/contracts/{cid}/terminate", json={"reason": "payment_overdue"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["ended_on"]) == ("terminated", "2026-11-21")


async def test_customer_terminates_for_seller_breach_after_uncured_demand_R_E5(shop, service, clock):
    cid = (await active_contract(shop, service))["id"]
    today = clock.now().date()
    too_soon = await service.post(f"/v1/contracts/{cid}/terminate", json={
        "reason": "seller_breach", "demand_sent_on": (today - timedelta(days=6)).isoformat()})
    assert too_soon.json()["error"] == "termination_not_allowed"
    ok = await service.post(f"/v1/contracts/{cid}/terminate", json={
        "reason": "seller_breach", "demand_sent_on": (today - timedelta(days=7)).isoformat()})
    assert ok.json()["status"] == "terminated"


async def test_terms_change_termination_needs_notice_and_is_scheduled_R_E6(shop, service, receiver):
    cid = (await active_contract(shop, service))["id"]
    short = await service.post(f"/v1/contracts/{cid}/terminate", json={
        "reason": "terms_change_customer", "effective_on": "2026-11-25"})
    assert short.json()["error"] == "termination_not_allowed"
    scheduled = await service.post(f"/v1/contracts/{cid}/terminate", json={"reason": "terms_change_customer"})
    body = scheduled.json()
    assert (body["status"], body["termination_scheduled_on"]) == ("active", "2026-11-28")  # 7 days' notice
    await receiver.wait_for("contract.termination_scheduled")
    run = await service.post("/v1/contracts/expire-run", json={"as_of": "2026-11-28"})
    assert run.json()["terminated"] == [cid]
    ended = (await shop.get(f"/v1/contracts/{cid}")).json()
    assert (ended["status"], ended["ended_on"], ended["end_reason"]) == ("terminated", "2026-11-28",
                                                                          "terms_change_customer")


async def test_seller_terms_change_termination_needs_one_month_R_E6(shop, service):
    cid = (await active_contract(shop, service))["id"]
    scheduled = await service.post(f"/v1/contracts/{cid}/terminate", json={"reason": "terms_change_seller"})
    assert scheduled.json()["termination_scheduled_on"] == "2026-12-21"


async def test_representatives_named_on_both_sides_R_E7(shop, service, api):
    contract = await active_contract(shop, service, customer_id="cust-7")
    assert contract["representatives"]["customer"]["email"] == "faktury@contoso.pl"
    assert contract["representatives"]["seller"]["name"] == "Support Desk"
    customer = api.client("customer", customer_id="cust-7")
    changed = await customer.put(f"/v1/contracts/{contract['id']}/representatives", json={
        "customer": {"name": "Anna Nowak", "email": "anna@contoso.pl", "phone": "+48 600 000 000"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["representatives"]["customer"]["name"] == "Anna Nowak"
    seller_by_customer = await customer.put(f"/v1/contracts/{contract['id']}/representatives", json={
        "customer": {"name": "Anna Nowak", "email": "anna@contoso.pl"},
        "seller": {"name": "Me", "email": "me@contoso.pl"}})
    assert seller_by_customer.status_code == 403


async def test_transfer_only_with_recorded_consent_R_E8(shop, service, api):
    contract = await active_contract(shop, service, customer_id="old-owner")
    cid = contract["id"]
    refused = await service.post(f"/v1/contracts/{cid}/transfer", json={"to_customer_id": "new-owner"})
    assert (refused.status_code, refused.json()["error"]) == (422, "consent_required")
    assert (await shop.get(f"/v1/contracts/{cid}")).json()["customer_id"] == "old-owner"
    consent = {"reference": "ZGODA/2026/17", "granted_by": "Jan Kowalski", "granted_on": "2026-11-20"}
    to_the_seller = await service.post(f"/v1/contracts/{cid}/transfer", json={
        "to_customer_id": "new-owner", "consent": consent, "billing": {
            "name": "Nowy Właściciel sp. z o.o.", "nip": api.settings.seller_nip, "address": "ul. Nowa 1, 00-001 Warszawa",
            "email": "faktury@nowy.pl"}})
    assert (to_the_seller.status_code, to_the_seller.json()["error"]) == (422, "buyer_is_seller")
    assert (await shop.get(f"/v1/contracts/{cid}")).json()["customer_id"] == "old-owner"
    moved = await service.post(f"/v1/contracts/{cid}/transfer", json={"to_customer_id": "new-owner", "consent": consent})
    assert moved.status_code == 200, moved.text
    assert moved.json()["customer_id"] == "new-owner"
    history = (await shop.get(f"/v1/contracts/{cid}/history")).json()
    assert history[-1]["action"] == "transferred"
    assert history[-1]["data"]["consent"]["reference"] == "ZGODA/2026/17"
    old = api.client("customer", customer_id="old-owner")
    assert (await old.get(f"/v1/contracts/{cid}")).status_code == 404
    new = api.client("customer", customer_id="new-owner")
    assert (await new.get(f"/v1/contracts/{cid}")).status_code == 200
