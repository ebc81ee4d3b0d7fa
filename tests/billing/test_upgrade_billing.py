"""An upgrade's month is paid once: the old fee for every day plus the supplement from the upgrade
day, then the new fee (R-B7, R-B11), whenever the month's invoice is issued relative to the
upgrade; and one meaning of `terminable_since` (R-B6, R-E5). Over real HTTP between
entitlements, billing and the payment sandbox, paying by card."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from tests.billing.conftest import CARD_OK
from tests.billing.upgrade_steps import applied, read_billed, run, upgrade, wait_for_billing
from tests.tickets.conftest import at


async def test_the_issues_repro_upgrade_on_the_5th_then_january_is_billed_at_the_old_price_R_B7(bw):
    bw.clock.set(at("2026-12-03 10:00"))
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    bw.clock.set(at("2027-01-05 10:00"))
    quoted = await upgrade(bw, contract["id"], "o365-advanced")
    assert quoted["quote"]["net"] == "174.19"  # 200.00 × 27/31
    await wait_for_billing(bw, {contract["id"]}, applied("o365-advanced"), "to price the upgrade")
    bw.clock.set(at("2027-01-07 12:00"))  # inside R-B4's window
    await run(bw, "2027-01", bw.clock.now())
    january = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "period", "January's invoice")
    assert (january["period"], january["net_total"]) == ("2027-01", "99.00")
    bw.clock.set(at("2027-01-31 12:00"))
    await run(bw, "2027-02", bw.clock.now())
    february = await bw.invoice_where(contract["id"], lambda i: i["period"] == "2027-02", "February's invoice")
    assert february["net_total"] == "299.00"


async def test_an_upgrade_on_the_1st_is_paid_wholly_by_its_supplement_R_B7(bw):
    bw.clock.set(at("2026-12-03 10:00"))
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    bw.clock.set(at("2027-01-01 10:00"))
    assert (await upgrade(bw, contract["id"], "o365-advanced"))["quote"]["net"] == "200.00"
    await wait_for_billing(bw, {contract["id"]}, applied("o365-advanced"), "to price the upgrade")
    bw.clock.set(at("2027-01-04 09:00"))
    await run(bw, "2027-01", bw.clock.now())
    january = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "period", "January's invoice")
    assert january["net_total"] == "99.00"  # not 299.00: the difference is paid once


async def test_a_month_billed_before_the_upgrade_applied_gets_a_catch_up_invoice_R_B7(bw):
    """February is invoiced on 31 January (R-B4: from 24 h before the month's end) at Standard;
    the customer upgrades later that day: January's supplement covers the 31st, and February,
    already billed at 99.00, is raised to 299.00 by a catch-up invoice charged at once."""
    bw.clock.set(at("2026-12-03 10:00"))
    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    bw.clock.set(at("2027-01-02 09:00"))
    await run(bw, "2027-01", bw.clock.now())
    bw.clock.set(at("2027-01-31 00:30"))
    await run(bw, "2027-02", bw.clock.now())
    bw.clock.set(at("2027-01-31 15:00"))
    assert (await upgrade(bw, contract["id"], "o365-advanced"))["quote"]["net"] == "6.45"  # 200 × 1/31
    catch_up = await bw.invoice_where(contract["id"], lambda i: i["purpose"] == "upgrade" and i["period"] == "2027-02",
                                      "February's catch-up")
    assert catch_up["net_total"] == "200.00"
    await bw.invoice_where(contract["id"], lambda i: i["id"] == catch_up["id"] and i["status"] == "paid",
                           "the catch-up's charge")
    billed = await read_billed(bw, contract["id"])
    assert billed.net_per_month[(2027, 2)] == Decimal("299.00")
    assert billed.plan_paid_on(date(2027, 2, 14)) == "o365-advanced"
    again = await bw.billing().get(f"/v1/accounts/{contract['id']}")
    assert [(r["plan_id"], r["effective_from"], r["state"]) for r in again.json()["price_schedule"]] == [
        ("o365-standard", "2026-12-03", "applied"), ("o365-advanced", "2027-01-31", "applied")]


async def test_terminable_since_is_the_same_day_on_both_services_R_B6_R_E5(bw):
    from tests.billing.conftest import CARD_EXPIRED

    contract = await bw.buy(CARD_OK)
    await bw.status(contract["id"], "active")
    await bw.billing().put(f"/v1/accounts/{contract['id']}/payment-instrument",
                           json={"payment_method": "card", "payment_instrument": CARD_EXPIRED})
    bw.clock.set(at("2026-11-30 12:00"))
    await run(bw, "2026-12", bw.clock.now())  # due 1 December, and the card is declined
    await bw.receiver.wait_for("payment.failed")
    await bw.billing().post("/v1/dunning-runs", json={"as_of": at("2026-12-08 09:00").isoformat()})
    assert (await bw.billing().get(f"/v1/accounts/{contract['id']}")).json()["terminable_since"] is None  # 7 days
    await bw.billing().post("/v1/dunning-runs", json={"as_of": at("2026-12-11 09:00").isoformat()})  # a late run
    account = (await bw.billing().get(f"/v1/accounts/{contract['id']}")).json()
    assert (account["overdue_since"], account["terminable_since"]) == ("2026-12-01", "2026-12-09")

    async def marked() -> dict[str, Any] | None:
        found = await bw.contract(contract["id"])
        return found if found["terminable_since"] else None
    assert (await bw.until(marked, "entitlements to mark it terminable"))["terminable_since"] == "2026-12-09"
    history = (await bw.entitlements().get(f"/v1/contracts/{contract['id']}/history")).json()
    entry = next(h for h in history if h["action"] == "marked_terminable")
    assert entry["data"] == {"terminable_since": "2026-12-09"}
