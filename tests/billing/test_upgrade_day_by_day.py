"""Every day of a 31-, 30- and 29-day month, for every upgrade pair of every product: each day
of the contract is billed once for its fee and paid at the plan the customer has that day, and
each month's net is what DOMAIN.md says, to the grosz (R-B7, R-B11).

Billing is driven through its public event inbox (`POST /v1/events`, a service token), with the
events entitlements sends — built by entitlements' own code (`contract_event_data`, the R-B7
quote of `upgrade_quote`) — in the order it sends them: created, activated, upgrade requested,
upgraded. 1,246 contracts through the whole shop → payment → activation path would take minutes;
that path, for the same rule, is exercised in test_upgrade_billing.py and test_legacy_reprice.py
(the repro of the double billing, an upgrade on the 1st, a catch-up, the repair)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from services.entitlements.service.contracts import contract_event_data
from services.entitlements.service.pricing import upgrade_quote
from services.entitlements.service.terms import term_end
from services.entitlements.service.upgrades import quote_json
from shared.ids import new_id
from tests.billing.conftest import BillingWorld
from tests.billing.upgrade_oracle import Upgrade, days, month_days
from tests.billing.upgrade_steps import gather, month_after, read_billed, run, upgrade_pairs, wait_for_billing
from tests.entitlements.helpers import purchase_body
from tests.tickets.conftest import at


EVENT_WRITERS = 6  # concurrent event posts: more only queue on the database's write lock


@pytest.fixture
def billing_overrides() -> dict[str, Any]:
    # nothing here is charged or relayed: the matrix is about what is invoiced
    return {"charge_interval": 0, "event_sinks": {}}


class Producer:
    """Sends billing what entitlements would, for one contract."""

    def __init__(self, bw: BillingWorld, product: dict[str, Any], low: dict[str, Any], starts_on: date) -> None:
        self.bw, self.product, self.low = bw, product, low
        body = purchase_body(plan_id=low["id"], product=product["licence_product"])
        self.contract = SimpleNamespace(
            id=new_id("ctr"), customer_id=f"cust-{new_id('c')}", product_id=product["id"], plan_id=low["id"],
            plan_version=low["version"], status="pending_payment", term_months=12, starts_on=starts_on,
            ends_on=term_end(starts_on, 12), payment_method="card", billing=body["billing"], order_ref=None)

    async def send(self, event_type: str, **extra: Any) -> None:
        data = contract_event_data(self.contract, **extra)  # type: ignore[arg-type]
        envelope = {"id": new_id("evt"), "type": event_type, "source": "entitlements",
                    "occurred_at": self.bw.clock.now().isoformat(), "subject": self.contract.id, "data": data}
        # each event is one write; SQLite takes one writer at a time, so a long queue of them is
        # waited for rather than timed out on a loaded machine
        answer = await self.bw.billing("service").post("/v1/events", json=envelope, timeout=120)
        assert (answer.status_code, answer.json()["outcome"]) == (200, "applied"), answer.text

    async def buy_and_activate(self) -> None:
        plan = SimpleNamespace(price_net=Decimal(self.low["price_net"]), name=self.low["name"])
        await self.send("contract.created", licence=None, plan=plan, created_by="test-shop")
        self.contract.status = "active"
        await self.send("contract.activated", reason="payment received")

    async def upgrade(self, high: dict[str, Any], on: date) -> None:
        quote = quote_json(upgrade_quote(Decimal(self.low["price_net"]), Decimal(high["price_net"]), on,
                                         self.contract.ends_on))
        await self.send("contract.upgrade_requested", from_plan_id=self.low["id"], to_plan_id=high["id"],
                        to_plan_version=high["version"], to_price_net=high["price_net"], to_plan_name=high["name"],
                        as_of=on.isoformat(), quote=quote)
        self.contract.plan_id, self.contract.plan_version = high["id"], high["version"]
        plan = SimpleNamespace(price_net=Decimal(high["price_net"]), name=high["name"])
        await self.send("contract.upgraded", plan=plan, from_plan_id=self.low["id"], quote=quote, as_of=on.isoformat(),
                        upgraded_on=self.bw.clock.now().date().isoformat())


def _all_applied(account: dict[str, Any]) -> bool:
    return len(account["price_schedule"]) == 2 and all(r["state"] == "applied" for r in account["price_schedule"])


@pytest.mark.parametrize("year,month", [(2027, 1), (2027, 4), (2028, 2)], ids=["31-days", "30-days", "29-days"])
async def test_every_day_of_an_upgrade_month_is_paid_once_at_the_plan_of_that_day_R_B7_R_B11(bw, year, month):
    """Every upgrade pair of every product, upgraded on every day of the month. The month's
    invoice is issued after the upgrades (as R-B4's window allows until its third business day,
    or later; here on the month's last day), then the next month's. Each day from the contract's
    start through the next month is billed once for its fee and paid at the plan the customer has
    that day, and each month's net is what DOMAIN.md says, to the grosz."""
    pairs = await upgrade_pairs(bw)
    assert len(pairs) >= 14  # o365 standard→advanced, 10 Sage warranty pairs, 3 subscription pairs
    n = month_days(year, month)
    start = date(year, month, 1) - timedelta(days=12)  # bought in the month before
    bw.clock.set(at(f"{start.isoformat()} 10:00"))
    cases = [(day, product, low, high) for day, (product, low, high) in itertools.product(range(1, n + 1), pairs)]
    producers = [Producer(bw, product, low, start) for _, product, low, _ in cases]
    await gather([p.buy_and_activate() for p in producers], limit=EVENT_WRITERS)

    for day in range(1, n + 1):  # each upgrade on its own day
        bw.clock.set(at(f"{date(year, month, day).isoformat()} 10:00"))
        await gather([p.upgrade(high, date(year, month, day))
                      for p, (d, _, _, high) in zip(producers, cases) if d == day], limit=EVENT_WRITERS)
    ids = {p.contract.id for p in producers}
    await wait_for_billing(bw, ids, _all_applied, "to price the upgrades")  # the inbox applied them already

    bw.clock.set(at(f"{date(year, month, n).isoformat()} 23:00"))
    assert (await run(bw, f"{year:04d}-{month:02d}", bw.clock.now()))["invoiced"] == len(cases)
    next_year, next_month = month_after(year, month)
    bw.clock.set(at(f"{next_year:04d}-{next_month:02d}-01 09:00"))
    assert (await run(bw, f"{next_year:04d}-{next_month:02d}", bw.clock.now()))["invoiced"] == len(cases)

    last = date(next_year, next_month, month_days(next_year, next_month))
    found_all = await gather([read_billed(bw, p.contract.id) for p in producers])
    for producer, (day, _, low, high), found in zip(producers, cases, found_all):
        oracle = Upgrade(low["id"], Decimal(low["price_net"]), high["id"], Decimal(high["price_net"]), start,
                         date(year, month, day))
        for each in days(start, last):
            assert found.plan_paid_on(each) == oracle.plan_on(each), (producer.contract.id, oracle, each)
        for ym in sorted(found.net_per_month):
            assert found.net_per_month[ym] == oracle.owed_for_month(*ym), (producer.contract.id, oracle, ym)
        assert sorted(found.net_per_month) == [(start.year, start.month), (year, month), (next_year, next_month)]
