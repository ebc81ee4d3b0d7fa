"""Quotas: R-S4 (remote help per calendar month, no carry-over), R-S6/R-E10 (professional
services within 12 months), overage for billing (R-B8)."""

from __future__ import annotations

from tests.entitlements.helpers import active_contract


async def _vip(shop, service, customer_id="cust-1", reference="S-VIP"):
    await shop.post(f"/v1/customers/{customer_id}/licences", json={"product": "sage", "reference": reference})
    return await active_contract(shop, service, customer_id=customer_id, plan_id="sage-warranty-vip",
                                 mode="standalone", product="sage", reference=reference)


def usage(event_id, metric, quantity, at="2026-11-23T10:00:00+01:00"):
    return {"event_id": event_id, "metric": metric, "quantity": quantity, "occurred_at": at}


async def test_remote_help_quota_and_overage_R_S4_R_B8(shop, service, receiver):
    cid = (await _vip(shop, service))["id"]
    first = await service.post(f"/v1/contracts/{cid}/usage", json=usage("sess-1", "remote_help_minutes", 45))
    assert first.status_code == 201, first.text
    assert (first.json()["included"], first.json()["overage"], first.json()["period_key"]) == (30, 15, "2026-11")
    overage = (await receiver.wait_for("usage.overage"))[0]["data"]
    assert (overage["metric"], overage["quantity"], overage["unit_price_net"]) == ("remote_help_minutes", 15, "4.00")
    assert overage["contract_id"] == cid
    view = (await shop.get("/v1/customers/cust-1/entitlements", params={"product": "sage-warranty"})).json()
    quotas = {q["metric"]: q for q in view["entitlements"][0]["quotas"]}
    assert (quotas["remote_help_minutes"]["used"], quotas["remote_help_minutes"]["left"]) == (45, 0)
    assert quotas["remote_help_sessions"]["left"] == 1
    assert (quotas["remote_help_minutes"]["period_start"], quotas["remote_help_minutes"]["period_end"]) == (
        "2026-11-21", "2026-11-30")


async def test_unused_sessions_do_not_carry_over_R_S4(shop, service, receiver):
    cid = (await _vip(shop, service))["id"]
    nov = await service.post(f"/v1/contracts/{cid}/usage", json=usage("s-nov", "remote_help_sessions", 1))
    assert nov.json()["overage"] == 0
    extra = await service.post(f"/v1/contracts/{cid}/usage", json=usage("s-nov-2", "remote_help_sessions", 1))
    assert (extra.json()["included"], extra.json()["overage"]) == (0, 1)  # a further session is bought
    dec = await service.post(f"/v1/contracts/{cid}/usage",
                             json=usage("s-dec", "remote_help_sessions", 1, at="2026-12-02T09:00:00+01:00"))
    assert (dec.json()["included"], dec.json()["period_key"]) == (1, "2026-12")


async def test_usage_is_idempotent_by_event_id(shop, service, receiver):
    cid = (await _vip(shop, service))["id"]
    first = await service.post(f"/v1/contracts/{cid}/usage", json=usage("same", "remote_help_minutes", 40))
    again = await service.post(f"/v1/contracts/{cid}/usage", json=usage("same", "remote_help_minutes", 40))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    different = await service.post(f"/v1/contracts/{cid}/usage", json=usage("same", "remote_help_minutes", 41))
    assert (different.status_code, different.json()["error"]) == (409, "usage_event_reused")
    await receiver.wait_for("usage.overage")
    assert len(receiver.of_type("usage.overage")) == 1


async def test_metric_not_in_plan_and_suspended_contract(shop, service):
    standard = await active_contract(shop, service)
    refused = await service.post(f"/v1/contracts/{standard['id']}/usage", json=usage("u1", "remote_help_minutes", 5))
    assert (refused.status_code, refused.json()["error"]) == (409, "metric_not_in_plan")
    vip = await _vip(shop, service, reference="S-susp")
    await service.post(f"/v1/contracts/{vip['id']}/suspend")
    blocked = await service.post(f"/v1/contracts/{vip['id']}/usage", json=usage("u2", "remote_help_minutes", 5))
    assert blocked.json()["error"] == "usage_not_allowed"


async def test_professional_services_visits_and_hours_within_12_months_R_S6_R_E10(shop, service, receiver):
    await shop.post("/v1/customers/cust-1/licences", json={"product": "sage", "reference": "S-PRO"})
    cid = (await active_contract(shop, service, plan_id="sage-professional-services", mode="standalone",
                                 product="sage", reference="S-PRO"))["id"]
    too_long = await service.post(f"/v1/contracts/{cid}/usage", json=usage("h0", "professional_hours", 8))
    assert (too_long.status_code, too_long.json()["error"]) == (422, "usage_exceeds_record_limit")
    for n, month in enumerate(["2026-12-01", "2027-03-01", "2027-06-01", "2027-09-01"], start=1):
        visit = await service.post(f"/v1/contracts/{cid}/usage",
                                   json=usage(f"v{n}", "professional_visits", 1, at=f"{month}T09:00:00+01:00"))
        assert visit.json()["period_key"] == "term"
        hours = await service.post(f"/v1/contracts/{cid}/usage",
                                   json=usage(f"h{n}", "professional_hours", 7, at=f"{month}T16:00:00+01:00"))
    assert (visit.json()["included"], visit.json()["overage"]) == (0, 1)  # a fourth visit is beyond the three
    assert hours.json()["overage"] == 7
    after_term = await service.post(f"/v1/contracts/{cid}/usage",
                                    json=usage("late", "professional_visits", 1, at="2027-11-21T09:00:00+01:00"))
    assert after_term.json()["error"] == "usage_not_allowed"


async def test_usage_needs_usage_scope(shop, service):
    vip = await _vip(shop, service)
    response = await shop.post(f"/v1/contracts/{vip['id']}/usage", json=usage("x", "remote_help_minutes", 1))
    assert response.status_code == 403


async def test_usage_quantity_must_be_positive(shop, service):
    vip = await _vip(shop, service)
    response = await service.post(f"/v1/contracts/{vip['id']}/usage", json=usage("neg", "remote_help_minutes", -5))
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")
    assert "quantity" in response.json()["detail"]
