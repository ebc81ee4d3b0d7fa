"""Invoices as documents and as records: numbering under concurrency, visibility, PDF and KSeF
XML downloads, credit notes, webhooks applied once, and bad input (R-B3, R-B9, R-B10, R-B12)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal

from standardwebhooks import Webhook

from services.billing.main import create_app  # noqa: F401 - models registered
from services.billing.models import BillingAccount
from services.billing.service.amounts import LineIn
from services.billing.service.invoicing import InvoicingService, Issue
from services.billing.service.periods import Period, charge_window
from services.billing.settings import BillingSettings
from services.billing.ksef import validate_fa3
from shared.runtime import Runtime
from tests.billing.conftest import CARD_OK
from tests.tickets.conftest import at

WAIT = {"Prefer": "wait=120"}  # the run answers once finished


async def _paid_contract(bw):  # type: ignore[no-untyped-def]
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    invoice = (await bw.invoices(contract["id"]))[0]
    return contract, invoice


async def test_pdf_and_ksef_xml_are_downloadable_and_the_xml_validates_R_B3_R_B10(bw):
    contract, invoice = await _paid_contract(bw)
    pdf = await bw.billing().get(f"/v1/invoices/{invoice['id']}/pdf")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    xml = await bw.billing().get(f"/v1/invoices/{invoice['id']}/ksef.xml")
    assert xml.status_code == 200
    validate_fa3(xml.content)  # the official FA(3) schema
    assert b"FV/2026/11/000001" in xml.content and b"40.59" in xml.content


async def test_customers_see_only_their_own_invoices_and_the_shop_what_it_sold(bw):
    contract, invoice = await _paid_contract(bw)
    mine = await bw.billing("customer", customer_id="cust-1").get(f"/v1/invoices/{invoice['id']}")
    assert mine.status_code == 200
    other = await bw.billing("customer", customer_id="cust-2").get(f"/v1/invoices/{invoice['id']}")
    assert (other.status_code, other.json()["error"]) == (404, "invoice_not_found")
    listed = (await bw.billing("customer", customer_id="cust-2").get("/v1/invoices")).json()
    assert listed["items"] == []
    seller = (await bw.billing("shop", sub="test-shop").get("/v1/invoices")).json()
    assert [i["id"] for i in seller["items"]] == [invoice["id"]]
    another_shop = (await bw.billing("shop", sub="other-shop").get("/v1/invoices")).json()
    assert another_shop["items"] == []


async def test_a_credit_note_references_the_original_and_never_exceeds_it_R_B10(bw):
    contract, invoice = await _paid_contract(bw)
    admin = bw.billing("admin")

    async def credit(body):  # type: ignore[no-untyped-def]
        return await admin.post(f"/v1/invoices/{invoice['id']}/credit-notes", json=body,
                                headers={"Idempotency-Key": str(uuid.uuid4())})
    too_much = await credit({"reason": "price mistake", "lines": [{"position": 1, "net": "40.00"}]})
    assert (too_much.status_code, too_much.json()["error"]) == (422, "credit_exceeds_invoice")
    note = await credit({"reason": "price mistake", "lines": [{"position": 1, "net": "10.00"}]})
    assert note.status_code == 201, note.text
    body = note.json()
    assert (body["kind"], body["number"], body["corrects_id"]) == ("correction", "KOR/2026/11/000001", invoice["id"])
    assert (body["net_total"], body["vat_total"], body["gross_total"]) == ("-10.00", "-2.30", "-12.30")
    xml = await admin.get(f"/v1/invoices/{body['id']}/ksef.xml")
    validate_fa3(xml.content)
    assert invoice["number"].encode() in xml.content
    rest = await credit({"reason": "all of it", "lines": [{"position": 1, "net": "23.01"}]})
    assert rest.json()["error"] == "credit_exceeds_invoice"  # 23.01 + 10.00 > 33.00 net (gross 40.59)
    original = (await admin.get(f"/v1/invoices/{invoice['id']}")).json()
    assert (original["gross_total"], original["status"]) == ("40.59", "paid")  # never edited


async def test_a_webhook_delivered_twice_or_late_changes_nothing(bw):
    contract, invoice = await _paid_contract(bw)
    deliveries = (await bw.sandbox().get("/sandbox/webhook-deliveries")).json()["data"]
    charge_id = deliveries[0]["charge_id"]
    resent = await bw.sandbox().post(f"/sandbox/charges/{charge_id}/resend-webhook")
    assert resent.status_code == 202

    async def redelivered():  # type: ignore[no-untyped-def]
        found = (await bw.sandbox().get("/sandbox/webhook-deliveries")).json()["data"]
        return len([d for d in found if d["status_code"] == 200]) >= 2
    await bw.until(redelivered, "the second delivery")
    after = (await bw.billing().get(f"/v1/invoices/{invoice['id']}")).json()
    assert (after["amount_paid"], after["status"]) == ("40.59", "paid")
    paid_events = [e for e in bw.receiver.events if e["type"] == "payment.received"]
    assert len(paid_events) == 1
    # a late "failed" report for the same charge (out of order) is ignored too
    secret = bw.settings.payment_webhook_secret
    charge = (await bw.sandbox().get(f"/v1/charges/{charge_id}")).json()
    event = {"id": "evt_late_failure", "type": "charge.failed", "created": int(time.time()), "data": {
        **charge, "status": "failed", "amount_paid": "0.00", "failure_code": "insufficient_funds"}}
    body = json.dumps(event)
    headers = _signed(secret, "evt_late_failure", body)
    late = await bw.billing(None).post("/v1/payments/webhook", content=body, headers=headers)
    assert late.status_code == 200, late.text
    again = (await bw.billing().get(f"/v1/invoices/{invoice['id']}")).json()
    assert again["status"] == "paid"


def _signed(secret: str, msg_id: str, body: str) -> dict[str, str]:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    signature = Webhook(secret).sign(msg_id, now, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
            "content-type": "application/json"}


async def test_bad_input_gets_a_stable_code_and_changes_nothing(bw):
    admin, anonymous = bw.billing("admin"), bw.billing(None)
    unsigned = await anonymous.post("/v1/payments/webhook", json={"id": "x", "type": "charge.succeeded", "data": {}})
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "invalid_webhook_signature")
    tampered_body = json.dumps({"id": "evt_t", "type": "charge.succeeded", "data": {}})
    headers = _signed(bw.settings.payment_webhook_secret, "evt_t", tampered_body)
    tampered = await anonymous.post("/v1/payments/webhook", content=tampered_body.replace("evt_t", "evt_u"),
                                    headers=headers)
    assert tampered.json()["error"] == "invalid_webhook_signature"
    future = await admin.post("/v1/billing-runs", json={"period": "2027-02", "as_of": bw.clock.now().isoformat()})
    assert (future.status_code, future.json()["error"]) == (422, "invalid_period")
    bad_period = await admin.post("/v1/billing-runs", json={"period": "2026-13", "as_of": bw.clock.now().isoformat()})
    assert bad_period.status_code == 422
    for amount in ("-5", "abc", "1.234"):
        usage = await bw.billing("service").post("/v1/usage", json={
            "event_id": f"u-{amount}", "contract_id": "ctr_x", "metric": "remote_minutes", "quantity": amount,
            "unit_price_net": "2.50", "occurred_at": bw.clock.now().isoformat()})
        assert usage.status_code == 422, amount
    missing = await bw.billing("service").post("/v1/usage", json={
        "event_id": "u-1", "contract_id": "ctr_missing", "metric": "remote_minutes", "quantity": "1",
        "unit_price_net": "2.50", "occurred_at": bw.clock.now().isoformat()})
    assert (missing.status_code, missing.json()["error"]) == (404, "account_not_found")
    listed = (await admin.get("/v1/invoices")).json()
    assert listed["items"] == []  # nothing half-written


def test_the_charge_window_opens_24_hours_before_month_end_and_closes_after_the_third_business_day_R_B4():
    window = charge_window(Period(2027, 1))  # 1 Jan holiday, 2–3 weekend, 6 Jan Epiphany: 4, 5, 7 January
    assert window.opens_at == at("2026-12-31 00:00")
    assert window.closes_at == at("2027-01-08 00:00")
    assert window.contains(at("2027-01-07 23:59")) and not window.contains(at("2027-01-08 00:00"))
    march = charge_window(Period(2027, 4))  # DST: 24 h before 1 April 00:00 CEST is 31 March 00:00 CEST
    assert march.opens_at == at("2027-03-31 00:00")


async def test_fifty_concurrent_issues_take_fifty_consecutive_numbers_R_B9(stores, keys, postgres_only, clock):
    from services.billing.models import metadata

    url = await stores.fresh_url("billing", metadata)
    settings = BillingSettings(environment="test", database_url=url, db_pool_size=20, relay_enabled=False,
                               jwks_file=keys[1])
    runtime = Runtime(settings, clock=clock)
    try:
        async with runtime.db.transaction() as session:
            session.add(BillingAccount(
                contract_id="ctr_n", customer_id="c", product_id="p", plan_id="o365-standard", plan_name="Standard",
                price_net=Decimal("99.00"), contract_status="active", starts_on=clock.now().date(),
                ends_on=clock.now().date(), payment_method="card",
                buyer={"name": "B", "nip": "1234563218", "street": "ul. Prosta 1", "postal_code": "00-001",
                       "city": "Warszawa", "country": "PL"},
                created_at=clock.now(), updated_at=clock.now()))

        async def issue(n: int) -> str:
            async with runtime.db.transaction() as session:
                uow = runtime.unit_of_work(session)
                account = await session.get(BillingAccount, "ctr_n")
                invoice = await InvoicingService(uow, settings).issue(account, Issue(  # type: ignore[arg-type]
                    purpose="upgrade", items=[LineIn(f"line {n}", Decimal(1), "szt.", Decimal("10.00"))],
                    supply_date=clock.now().date(), due_date=clock.now().date()))
                if n % 10 == 9:
                    raise RuntimeError("rolled back: its number must be given back")
                return invoice.number

        results = await asyncio.gather(*(issue(n) for n in range(55)), return_exceptions=True)
        numbers = sorted(r for r in results if isinstance(r, str))
        assert len(numbers) == 50
        assert numbers == [f"FV/2026/11/{n:06d}" for n in range(1, 51)]  # no gap, no duplicate
    finally:
        await runtime.db.dispose()


async def test_a_billing_run_started_twice_at_once_invoices_each_contract_once(bw, postgres_only):
    contracts = [await bw.buy(CARD_OK, customer_id=f"cust-{n}") for n in range(4)]
    for contract in contracts:
        await bw.status(contract["id"], "active")
    bw.clock.set(at("2026-11-30 12:00"))
    body = {"period": "2026-12", "as_of": bw.clock.now().isoformat()}
    first, second = await asyncio.gather(bw.billing().post("/v1/billing-runs", json=body, headers=WAIT),
                                         bw.billing().post("/v1/billing-runs", json=body, headers=WAIT))
    assert first.json()["id"] == second.json()["id"]  # the second start joined the first's run
    assert (first.json()["invoiced"], second.json()["invoiced"]) == (4, 4)
    issued = [i["number"] for c in contracts for i in await bw.invoices(c["id"]) if i["period"] == "2026-12"]
    assert sorted(issued) == [f"FV/2026/11/{n:06d}" for n in range(5, 9)]  # four new numbers, no gap
    for contract in contracts:
        assert len([i for i in await bw.invoices(contract["id"]) if i["period"] == "2026-12"]) == 1
