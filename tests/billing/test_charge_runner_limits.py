"""The charge runner against a provider that pushes back (R-B2, R-B4): charges go out several at
a time but never more than `charge_concurrency`, and the provider's 429 + `Retry-After` is waited
out and the refused charge sent again under the same key, so every invoice is charged exactly
once. The background loop is off (`charge_interval: 0`): each test drives one round through
`POST /v1/charge-runs`, the API that does what the loop does."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.billing.conftest import CARD_OK

CONCURRENCY = 3


@pytest.fixture
def billing_overrides() -> dict[str, object]:
    return {"charge_interval": 0, "charge_concurrency": CONCURRENCY}


async def _unpaid_first_invoices(bw, n: int, prefix: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    contracts = [await bw.buy(CARD_OK, customer_id=f"{prefix}-{k}") for k in range(n)]
    return [await bw.invoice_where(c["id"], lambda i: i["purpose"] == "first", "the first invoice")
            for c in contracts]


async def _limits(bw, **limits: float) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await bw.sandbox().put("/sandbox/limits", json=limits)
    assert response.status_code == 200, response.text
    return response.json()


async def _charged_once(bw, invoice: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """One charge at the provider under the invoice's first key, none under a second."""
    first = await bw.sandbox().get("/v1/charges", params={"idempotency_key": f"{invoice['id']}:1"})
    assert first.status_code == 200, f"no charge at the provider for {invoice['number']}"
    assert first.json()["amount"] == invoice["gross_total"]
    second = await bw.sandbox().get("/v1/charges", params={"idempotency_key": f"{invoice['id']}:2"})
    assert second.status_code == 404, "a second charge attempt reached the provider"


async def _charge_run(bw) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await bw.billing().post("/v1/charge-runs")
    assert response.status_code == 200, response.text
    return response.json()


async def _charge_run_under(bw, **limits: float) -> tuple[dict[str, Any], float, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One charge run while the sandbox applies `limits`: the run's figures, how long it took and
    what the sandbox saw; the sandbox's limits are lifted again whatever happens."""
    await _limits(bw, **limits)
    try:
        started = time.monotonic()
        run = await _charge_run(bw)
        took = time.monotonic() - started
        return run, took, (await bw.sandbox().get("/sandbox/limits")).json()
    finally:
        await _limits(bw)


async def test_due_charges_are_submitted_concurrently_but_never_more_than_the_bound_R_B4(bw):
    invoices = await _unpaid_first_invoices(bw, 7, "cust-conc")
    run, took, limits = await _charge_run_under(bw, response_delay=0.3)  # each create takes a while: they overlap
    assert (run["submitted"], run["throttled"]) == (7, 0), run
    assert limits["max_in_flight"] == CONCURRENCY, limits  # in parallel, and bounded
    assert took < 7 * 0.3, f"one at a time would take {7 * 0.3:.1f} s; took {took:.2f} s"
    for invoice in invoices:
        paid = await bw.invoice_where(invoice["contract_id"], lambda i: i["status"] == "paid", "paid")
        await _charged_once(bw, paid)


async def test_the_providers_429_is_waited_out_and_each_invoice_is_charged_once_R_B2(bw):
    invoices = await _unpaid_first_invoices(bw, 6, "cust-429")
    run, took, limits = await _charge_run_under(bw, rate_limit=2, rate_burst=2)  # two at once, then one per 0.5 s
    assert run["submitted"] == 6 and run["throttled"] >= 1, run
    assert limits["throttled"] == run["throttled"], (limits, run)  # the sandbox saw each refusal
    assert took >= 1.0, "the runner did not wait for Retry-After (whole seconds, at least 1)"
    for invoice in invoices:
        paid = await bw.invoice_where(invoice["contract_id"], lambda i: i["status"] == "paid", "paid")
        await _charged_once(bw, paid)
