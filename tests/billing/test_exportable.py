"""An invoice is issued only if it can be exported (R-B3, R-B9, R-B10): its FA(3) XML is rendered
and validated inside the transaction that numbers it, so a document KSeF would refuse for ever is
not issued and its number is given back.

Billing is driven through its public event inbox with the `contract.created` entitlements sends
(built by entitlements' own `contract_event_data`), as a producer that skipped the edge's checks
would send it: the request models refuse such text before it gets this far, so this is the last
line, for events and data from before those checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from services.entitlements.service.contracts import contract_event_data
from services.entitlements.service.terms import term_end
from shared.ids import new_id
from tests.billing.conftest import BillingWorld
from tests.entitlements.helpers import purchase_body


@pytest.fixture
def billing_overrides() -> dict[str, Any]:
    return {"charge_interval": 0, "event_sinks": {}}


async def _created(bw: BillingWorld, **billing: str) -> tuple[str, Any]:
    body = purchase_body(plan_id="o365-standard")
    contract = SimpleNamespace(
        id=new_id("ctr"), customer_id=f"cust-{new_id('c')}", product_id="office365-support", plan_id="o365-standard",
        plan_version=1, status="pending_payment", term_months=12, starts_on=date(2026, 11, 20),
        ends_on=term_end(date(2026, 11, 20), 12), payment_method="card", billing={**body["billing"], **billing},
        order_ref=None)
    data = contract_event_data(contract, licence=None, plan=SimpleNamespace(  # type: ignore[arg-type]
        price_net=Decimal("99.00"), name="Office 365 — Standard"), created_by="test-shop")
    envelope = {"id": new_id("evt"), "type": "contract.created", "source": "entitlements",
                "occurred_at": bw.clock.now().isoformat(), "subject": contract.id, "data": data}
    return contract.id, await bw.billing("service").post("/v1/events", json=envelope)


@pytest.mark.parametrize("name", ["Acme\u0001Ltd", "Acme\u000bLtd", "Acme\ufffeLtd"])
async def test_an_invoice_that_would_not_export_is_not_issued_and_its_number_is_given_back_R_B9_R_B10(
        bw: BillingWorld, name: str):
    refused_id, refused = await _created(bw, name=name)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invoice_not_exportable", refused.text
    assert (await bw.billing().get("/v1/invoices", params={"contract_id": refused_id})).json()["items"] == []
    assert (await bw.billing().get(f"/v1/accounts/{refused_id}")).status_code == 404  # the whole event rolled back

    good_id, good = await _created(bw, name="Acme Sp. z o.o.")
    assert good.status_code == 200 and good.json()["outcome"] == "applied", good.text
    [invoice] = (await bw.billing().get("/v1/invoices", params={"contract_id": good_id})).json()["items"]
    assert invoice["number"].endswith("/000001"), invoice["number"]  # the refused one used no number
    xml = await bw.billing().get(f"/v1/invoices/{invoice['id']}/ksef.xml")
    assert xml.status_code == 200, xml.text


async def test_an_event_holding_u0000_is_refused_not_a_500_on_either_backend(bw: BillingWorld):
    refused_id, refused = await _created(bw, name="Acme\u0000Ltd")  # PostgreSQL cannot store it at all
    assert refused.status_code == 422, refused.text
    assert "U+0000" in refused.text, refused.text
    assert (await bw.billing().get(f"/v1/accounts/{refused_id}")).status_code == 404
