"""Every day of a 31-, 30- and 29-day month, for every upgrade pair of every product: each day
of the contract is billed once for its fee and paid at the plan the customer has that day, and
each month's net is what DOMAIN.md says, to the grosz (R-B7, R-B11). Over real HTTP between
entitlements and billing; the money's path through the payment provider has its own tests
(test_upgrade_billing.py, test_flows.py), so here contracts are settled by an administrator and
billing's charge runner stays off."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.billing.upgrade_oracle import Upgrade, days, month_days
from tests.billing.upgrade_steps import (
    apply_upgrade, applied_upgrade, bought_and_active, gather, month_after, read_billed, run, upgrade_pairs,
    wait_for_billing, wait_for_events, wait_until_active,
)
from tests.tickets.conftest import at


@pytest.fixture
def billing_overrides() -> dict[str, Any]:
    return {"charge_interval": 0}  # nothing to charge: the contracts are settled by an administrator


@pytest.mark.parametrize("year,month", [(2027, 1), (2027, 4), (2028, 2)], ids=["31-days", "30-days", "29-days"])
async def test_every_day_of_an_upgrade_month_is_paid_once_at_the_plan_of_that_day_R_B7_R_B11(bw, year, month):
    """Every upgrade pair of every product, upgraded on every day of a 31-, 30- and 29-day month.
    The month's invoice is issued after the upgrades (as R-B4's window allows until its third
    business day, or later; here on the month's last day, the upgrades dated back to each day),
    then the next month's. Each day from the contract's start through the next month is billed
    once for its fee and paid at the plan the customer has that day, and each month's net is
    what DOMAIN.md says, to the grosz."""
    pairs = await upgrade_pairs(bw)
    assert len(pairs) >= 14  # o365 standard→advanced, 10 Sage warranty pairs, 3 subscription pairs
    n = month_days(year, month)
    start = date(year, month, 1) - timedelta(days=12)  # bought in the month before
    bw.clock.set(at(f"{start.isoformat()} 10:00"))
    cases = [(day, pair) for day in range(1, n + 1) for pair in pairs]
    bought = await gather([bought_and_active(bw, product, low["id"], f"cust-{day}-{i}")
                           for i, (day, (product, low, _)) in enumerate(cases)])
    await wait_until_active(bw, {c["id"] for c in bought})

    # upgrades dated every day of the month, requested on its last day (a date earlier in the term
    # is allowed, R-B7 prices by it), before the month is invoiced
    bw.clock.set(at(f"{date(year, month, n).isoformat()} 12:00"))
    await gather([apply_upgrade(bw, c["id"], high["id"], date(year, month, day))
                  for c, (day, (_, _, high)) in zip(bought, cases)])
    await wait_for_events(bw, "contract.upgraded", {c["id"] for c in bought})
    await wait_for_billing(bw, {c["id"] for c in bought}, applied_upgrade, "to price the upgrades")
    bw.clock.set(at(f"{date(year, month, n).isoformat()} 23:00"))
    assert len((await run(bw, f"{year:04d}-{month:02d}", bw.clock.now()))["invoiced"]) == len(cases)
    next_year, next_month = month_after(year, month)
    bw.clock.set(at(f"{next_year:04d}-{next_month:02d}-01 09:00"))
    assert len((await run(bw, f"{next_year:04d}-{next_month:02d}", bw.clock.now()))["invoiced"]) == len(cases)

    last = date(next_year, next_month, month_days(next_year, next_month))
    billed_all = await gather([read_billed(bw, c["id"]) for c in bought])
    for contract, (day, (_, low, high)), found in zip(bought, cases, billed_all):
        oracle = Upgrade(low["id"], Decimal(low["price_net"]), high["id"], Decimal(high["price_net"]),
                         date.fromisoformat(contract["starts_on"]), date(year, month, day))
        for each in days(oracle.starts_on, last):
            assert found.plan_paid_on(each) == oracle.plan_on(each), (contract["id"], oracle, each)
        for ym in sorted(found.net_per_month):
            assert found.net_per_month[ym] == oracle.owed_for_month(*ym), (contract["id"], oracle, ym)
        assert sorted(found.net_per_month) == [(start.year, start.month), (year, month), (next_year, next_month)]


