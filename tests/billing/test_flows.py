"""Billing's conversations, over real HTTP between entitlements, billing and the payment
sandbox: purchase → first invoice → charge → active contract; failures, suspension, settlement;
upgrades; overage; the monthly run (R-B1, R-B2, R-B4, R-B5, R-B7, R-B8, R-B11, R-E4, R-E5)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.billing.conftest import CARD_EXPIRED, CARD_NO_ANSWER, CARD_NO_FUNDS, CARD_OK, IBAN_OK, IBAN_PARTIAL
from tests.tickets.conftest import at

WAIT = {"Prefer": "wait=120"}  # the billing run answers once finished


async def test_purchase_is_invoiced_for_the_rest_of_the_month_and_paying_activates_R_B11_R_B1(bw):
    # the clock: Saturday 21 November 2026 → 10 of 30 days: 99.00 × 10/30 = 33.00 net
    contract = await bw.buy(CARD_OK)
    first = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "first", "the first invoice")
    assert first["number"] == "FV/2026/11/000001"
    assert (first["net_total"], first["vat_total"], first["gross_total"]) == ("33.00", "7.59", "40.59")
    assert first["buyer"]["nip"] and first["buyer"]["city"] == "Warszawa"
    await bw.invoice_where(contract["id"], lambda i: i["status"] == "paid", "the card payment")
    active = await bw.status(contract["id"], "active")
    assert active["status"] == "active"
    await bw.receiver.wait_for("contract.paid")  # each sink is relayed on its own: the receiver may lag entitlements
    types = [e["type"] for e in bw.receiver.events]
    assert "invoice.issued" in types and "invoice.paid" in types


async def test_a_declined_card_leaves_the_contract_unpaid_and_retries_later_R_B2(bw):
    contract = await bw.buy(CARD_NO_FUNDS)
    await bw.until(lambda: _failed(bw), "payment.failed")
    invoice = (await bw.invoices(contract["id"]))[0]
    assert invoice["status"] == "open"
    assert (await bw.contract(contract["id"]))["status"] == "pending_payment"
    # a new card: the retry charges it, and the contract starts
    fixed = await bw.billing("admin").put(f"/v1/accounts/{contract['id']}/payment-instrument",
                                          json={"payment_method": "card", "payment_instrument": CARD_OK})
    assert fixed.status_code == 200, fixed.text
    await bw.status(contract["id"], "active")


async def _failed(bw):  # type: ignore[no-untyped-def]
    return [e for e in bw.receiver.events if e["type"] == "payment.failed"]


async def test_an_unanswered_charge_is_reconciled_not_charged_twice_R_B2(bw):
    contract = await bw.buy(CARD_NO_ANSWER)
    await bw.status(contract["id"], "active")  # the runner timed out, then found the charge by its key
    charges = (await bw.sandbox().get("/sandbox/webhook-deliveries")).json()["data"]
    assert len({d["charge_id"] for d in charges}) == 1  # one charge at the provider, not two


async def test_direct_debit_partial_payment_is_recorded_as_partial_R_B5(bw):
    contract = await bw.buy(IBAN_PARTIAL, method="direct_debit")
    invoice = await bw.invoice_where(contract["id"], lambda i: i["status"] == "partially_paid", "a partial payment")
    assert Decimal(invoice["amount_paid"]) == (Decimal(invoice["gross_total"]) / 2).quantize(Decimal("0.01"),
                                                                                            rounding="ROUND_DOWN")
    assert (await bw.contract(contract["id"]))["status"] == "pending_payment"


async def test_failed_payment_suspends_settlement_resumes_and_7_days_late_is_terminable_R_B5_R_B6_R_E4(bw):
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    # December's invoice is charged inside the window and the card is now empty
    put = await bw.billing().put(f"/v1/accounts/{contract['id']}/payment-instrument",
                                 json={"payment_method": "card", "payment_instrument": CARD_EXPIRED})
    assert put.status_code == 200
    bw.clock.set(at("2026-11-30 12:00"))
    run = await bw.billing().post("/v1/billing-runs", json={"period": "2026-12", "as_of": bw.clock.now().isoformat()},
                                  headers=WAIT)
    assert run.status_code == 200, run.text
    assert run.json()["charges_now"] == 1
    december = await bw.invoice_where(contract["id"], lambda i: i["period"] == "2026-12", "December's invoice")
    assert december["gross_total"] == "121.77"  # 99.00 + 23 %
    await bw.until(lambda: _failed(bw), "the declined charge")
    dunning = await bw.billing().post("/v1/dunning-runs", json={"as_of": bw.clock.now().isoformat()})
    assert dunning.json()["overdue"] == [contract["id"]]
    await bw.status(contract["id"], "suspended")
    again = await bw.billing().post("/v1/dunning-runs", json={"as_of": bw.clock.now().isoformat()})
    assert again.json()["overdue"] == []  # told once
    # more than 7 days after the due date (1 December): terminable
    bw.clock.set(at("2026-12-09 09:00"))
    late = await bw.billing().post("/v1/dunning-runs", json={"as_of": bw.clock.now().isoformat()})
    assert late.json()["terminable"] == [contract["id"]]
    # the customer pays by transfer: settled, support resumes
    paid = await bw.billing().post(f"/v1/invoices/{december['id']}/payments",
                                   json={"amount": "121.77", "reference": "przelew 2026-12-09"})
    assert paid.status_code == 201, paid.text
    await bw.status(contract["id"], "active")
    assert "contract.payment_settled" in [e["type"] for e in bw.receiver.events]


async def test_upgrade_supplement_is_invoiced_exactly_and_paying_switches_the_plan_R_B7(bw):
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    upgrade = await bw.entitlements("shop").post(f"/v1/contracts/{contract['id']}/upgrade",
                                                 json={"plan_id": "o365-advanced"})
    assert upgrade.status_code in (200, 202), upgrade.text
    supplement = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "upgrade", "the supplement")
    assert (supplement["net_total"], supplement["vat_total"], supplement["gross_total"]) == ("66.67", "15.33", "82.00")

    async def upgraded():  # type: ignore[no-untyped-def]
        account = (await bw.billing().get(f"/v1/accounts/{contract['id']}")).json()  # billing hears it next
        return (await bw.contract(contract["id"]))["plan_id"] == "o365-advanced" == account["plan_id"]
    await bw.until(upgraded, "the plan switch")
    # the new price from the next period
    bw.clock.set(at("2026-11-30 12:00"))
    await bw.billing().post("/v1/billing-runs", json={"period": "2026-12", "as_of": bw.clock.now().isoformat()},
                                  headers=WAIT)
    december = await bw.invoice_where(contract["id"], lambda i: i["period"] == "2026-12", "December's invoice")
    assert december["net_total"] == "299.00"


async def test_overage_lands_on_the_next_invoice_once_R_B8(bw):
    contract = await bw.buy(IBAN_OK, method="direct_debit")
    await bw.status(contract["id"], "active")
    body = {"event_id": "use-1", "contract_id": contract["id"], "metric": "remote_minutes", "unit": "minute",
            "quantity": "25", "unit_price_net": "2.50", "occurred_at": bw.clock.now().isoformat()}
    first = await bw.billing("service").post("/v1/usage", json=body)
    repeat = await bw.billing("service").post("/v1/usage", json=body)
    assert (first.status_code, repeat.status_code) == (201, 200)
    other = await bw.billing("service").post("/v1/usage", json={**body, "quantity": "30"})
    assert (other.status_code, other.json()["error"]) == (409, "usage_event_reused")
    bw.clock.set(at("2026-11-30 12:00"))
    for _ in range(2):  # a second run issues nothing new
        await bw.billing().post("/v1/billing-runs", json={"period": "2026-12", "as_of": bw.clock.now().isoformat()},
                                  headers=WAIT)
    december = [i for i in await bw.invoices(contract["id"]) if i["period"] == "2026-12"]
    assert len(december) == 1
    full = (await bw.billing().get(f"/v1/invoices/{december[0]['id']}")).json()
    assert [l["kind"] for l in full["lines"]] == ["subscription", "overage"]
    assert full["net_total"] == "161.50"  # 99.00 + 25 × 2.50


async def test_outside_the_charge_window_the_run_invoices_but_schedules_R_B4(bw):
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    early = bw.clock.now()  # 21 November: December's window opens 30 November 00:00 (24 h before month end)
    run = (await bw.billing().post("/v1/billing-runs", json={"period": "2026-12", "as_of": early.isoformat()},
                                   headers=WAIT)).json()
    assert (run["invoiced"], run["charges_now"], run["charges_scheduled"]) == (1, 0, 1)
    december = await bw.invoice_where(contract["id"], lambda i: i["period"] == "2026-12", "December's invoice")
    assert december["status"] == "open"
    bw.clock.set(at("2026-11-30 00:00") + timedelta(minutes=1))
    await bw.invoice_where(contract["id"], lambda i: i["period"] == "2026-12" and i["status"] == "paid",
                           "the charge at the window's opening")
