"""What an operator of billing is alerted by: failed charges by the provider's reason, invoices
issued, invoices past due, and the billing run's progress for this month and the next."""

from __future__ import annotations

from datetime import date, timedelta

from tests.billing.conftest import CARD_NO_FUNDS, CARD_OK
from tests.support.metrics import scrape, value
from tests.tickets.conftest import at


async def test_a_declined_card_is_counted_by_reason_and_its_invoice_becomes_overdue(bw):
    contract = await bw.buy(CARD_NO_FUNDS)
    await bw.receiver.wait_for("payment.failed")
    metrics = bw.billing(None)
    samples = await scrape(metrics)
    assert value(samples, "billing_charge_failures_total", service="billing", reason="insufficient_funds") == 1
    assert value(samples, "billing_invoices_issued_total", purpose="first") == 1
    assert value(samples, "billing_invoices_overdue") == 0
    [invoice] = await bw.invoices(contract["id"])
    bw.clock.set(at(f"{date.fromisoformat(invoice['due_date']) + timedelta(days=1)} 09:00"))
    assert value(await scrape(metrics), "billing_invoices_overdue", service="billing") == 1


async def test_the_billing_runs_progress_is_a_gauge_per_period(bw):
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    metrics = bw.billing(None)
    # 21 November: November is covered by the first invoice, December is still to invoice
    samples = await scrape(metrics)
    progress = {(m, p, value(samples, "billing_run_contracts_due", month=m, period=p),
                 value(samples, "billing_run_contracts_invoiced", month=m, period=p))
                for m, p in (("current", "2026-11"), ("next", "2026-12"))}
    assert progress == {("current", "2026-11", 1, 1), ("next", "2026-12", 1, 0)}
    run = await bw.billing().post("/v1/billing-runs", json={"period": "2026-12", "as_of": bw.clock.now().isoformat()},
                                  headers={"Prefer": "wait=120"})
    assert run.status_code == 200, run.text
    samples = await scrape(metrics)
    assert value(samples, "billing_run_contracts_invoiced", period="2026-12") == 1
    assert value(samples, "billing_invoices_issued_total", purpose="period") == 1
    # in December the gauges move on: December and January
    bw.clock.set(at("2026-12-02 09:00"))
    samples = await scrape(metrics)
    assert value(samples, "billing_run_contracts_due", period="2026-11") == 0  # no longer exported
    assert value(samples, "billing_run_contracts_due", month="current", period="2026-12") == 1
    assert value(samples, "billing_run_contracts_invoiced", month="current", period="2026-12") == 1
    assert value(samples, "billing_run_contracts_due", month="next", period="2027-01") == 1
    assert value(samples, "billing_run_contracts_invoiced", period="2027-01") == 0
