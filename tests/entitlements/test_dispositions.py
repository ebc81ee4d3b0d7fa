"""R-E9: personal data returned or deleted within 14 days after the contract ends."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.entitlements.helpers import active_contract
from tests.support.metrics import scrape, value


async def test_deadline_instruction_completion_and_overdue_list_R_E9(shop, service, api, admin, receiver):
    contract = await active_contract(shop, service, term_months=1, customer_id="cust-5")
    cid = contract["id"]
    assert (await shop.get(f"/v1/contracts/{cid}/data-disposition")).json()["error"] == "disposition_not_found"
    await service.post("/v1/contracts/expire-run", json={"as_of": "2026-12-21"})
    disposition = (await shop.get(f"/v1/contracts/{cid}/data-disposition")).json()
    assert (disposition["ended_on"], disposition["due_on"]) == ("2026-12-20", "2027-01-03")
    customer = api.client("customer", customer_id="cust-5")
    instructed = await customer.post(f"/v1/contracts/{cid}/data-disposition/instruction",
                                     json={"instruction": "delete", "received_on": "2026-12-22"})
    assert instructed.status_code == 200, instructed.text
    assert instructed.json()["instruction"] == "delete"
    crm = api.client("crm")
    overdue = (await crm.get("/v1/data-dispositions", params={"overdue": "true", "as_of": "2027-01-04"})).json()
    assert [d["contract_id"] for d in overdue] == [cid]
    assert overdue[0]["overdue"] is True
    not_yet = (await crm.get("/v1/data-dispositions", params={"overdue": "true", "as_of": "2027-01-03"})).json()
    assert not_yet == []
    done = await admin.post(f"/v1/contracts/{cid}/data-disposition/complete", json={"completed_on": "2027-01-02"})
    assert done.json()["completed_on"] == "2027-01-02"
    assert (await crm.get("/v1/data-dispositions", params={"overdue": "true", "as_of": "2027-02-01"})).json() == []
    twice = await admin.post(f"/v1/contracts/{cid}/data-disposition/complete")
    assert twice.json()["error"] == "disposition_completed"
    disposed = (await receiver.wait_for("contract.data_disposed"))[0]["data"]
    assert (disposed["instruction"], disposed["late"]) == ("delete", False)


async def test_termination_sets_the_deadline_too_R_E9(shop, service):
    cid = (await active_contract(shop, service))["id"]
    await service.post(f"/v1/contracts/{cid}/terminate", json={"reason": "customer_breach"})
    disposition = (await shop.get(f"/v1/contracts/{cid}/data-disposition")).json()
    assert (disposition["ended_on"], disposition["due_on"]) == ("2026-11-21", "2026-12-05")


async def test_other_customer_cannot_instruct(shop, service, api):
    cid = (await active_contract(shop, service, term_months=1, customer_id="cust-6"))["id"]
    await service.post("/v1/contracts/expire-run", json={"as_of": "2027-01-01"})
    stranger = api.client("customer", customer_id="cust-x")
    response = await stranger.post(f"/v1/contracts/{cid}/data-disposition/instruction", json={"instruction": "return"})
    assert response.status_code == 404


async def test_overdue_dispositions_are_a_gauge_for_the_operator_R_E9(shop, service, api, admin):
    cid = (await active_contract(shop, service))["id"]
    await service.post(f"/v1/contracts/{cid}/terminate", json={"reason": "customer_breach"})  # due 5 December
    metrics = api.client()
    samples = await scrape(metrics)
    assert (value(samples, "entitlements_data_dispositions_open"),
            value(samples, "entitlements_data_dispositions_overdue")) == (1, 0)
    api.clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=ZoneInfo("Europe/Warsaw")))
    assert value(await scrape(metrics), "entitlements_data_dispositions_overdue", service="entitlements") == 1
    await admin.post(f"/v1/contracts/{cid}/data-disposition/complete")
    samples = await scrape(metrics)
    assert (value(samples, "entitlements_data_dispositions_open"),
            value(samples, "entitlements_data_dispositions_overdue")) == (0, 0)
