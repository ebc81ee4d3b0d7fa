"""Rebuilding the price schedule of a contract upgraded before billing kept one, and correcting
what it was billed (R-B7, R-B10).

Billing used to overwrite a contract's price when an upgrade switched its plan, so the month of
an upgrade invoiced after the switch was billed at the new price although its supplement had
already paid the difference: the upgrade's days were paid twice. Such an account lost its old
price (the migration marks it `legacy_prices`); entitlements still knows it: the plan version
bought, and each upgrade with its quote. From those this module rebuilds the schedule, then
reprices every billed month, so a month billed twice gets a credit note (and one billed short a
catch-up invoice). Run by `supportctl billing reprice`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.billing import repository as repo
from services.billing.clients import EntitlementsClient
from services.billing.models import BillingAccount, Invoice
from services.billing.service.prices import APPLIED, PENDING
from services.billing.service.price_schedule import PriceScheduleService
from shared.clock import local_date


@dataclass
class Repair:
    contract_id: str
    schedule: list[tuple[str, Decimal, date]] = field(default_factory=list)  # plan, monthly price, owed from
    issued: list[tuple[str, str, Decimal]] = field(default_factory=list)  # number, purpose, net: notes, catch-ups


@dataclass(frozen=True)
class _Owed:
    plan_id: str
    plan_name: str
    price_net: Decimal
    effective_from: date


class LegacyPriceService:
    def __init__(self, prices: PriceScheduleService, entitlements: EntitlementsClient) -> None:
        self.prices, self.entitlements = prices, entitlements
        self.session = prices.session

    async def repair(self, account: BillingAccount) -> Repair:
        owed = await self._from_entitlements(account)
        pending = [r for r in await self.prices.rows(account.contract_id) if r.state == PENDING]
        await repo.drop_applied_prices(self.session, account.contract_id)
        await self.session.flush()
        for row in pending:  # an upgrade still waiting for payment stays after the applied ones
            row.seq += len(owed)
        for step in owed:
            await self.prices.add(account, plan_id=step.plan_id, plan_name=step.plan_name, price_net=step.price_net,
                                  effective_from=step.effective_from, state=APPLIED)
        last = owed[-1]
        account.plan_id, account.plan_name, account.price_net = last.plan_id, last.plan_name, last.price_net
        account.legacy_prices = False
        await self.session.flush()
        issued: list[Invoice] = await self.prices.reprice(account)
        return Repair(account.contract_id, [(o.plan_id, o.price_net, o.effective_from) for o in owed],
                      [(i.number, i.purpose, i.net_total) for i in issued])

    async def _from_entitlements(self, account: BillingAccount) -> list[_Owed]:
        """The plan bought (at the version's price), then each upgrade that switched the plan:
        its price is the previous one plus the quote's monthly difference, owed from its date
        (recorded by entitlements, else the date of its supplement, else the day it switched)."""
        history = await self.entitlements.history(account.contract_id)
        created = next(h for h in history if h["action"] == "created")
        upgrades = [h for h in history if h["action"] == "upgraded"]
        pending_supplements = {r.invoice_id for r in await self.prices.rows(account.contract_id) if r.state == PENDING}
        supplements = iter([s for s in await repo.supplements(self.session, account.contract_id)
                            if s.id not in pending_supplements])
        first_plan = upgrades[0]["data"]["from_plan_id"] if upgrades else account.plan_id
        bought = await self.entitlements.plan(first_plan, created["data"].get("plan_version"))
        owed = [_Owed(first_plan, bought["name"], Decimal(bought["price_net"]), account.starts_on)]
        for entry in upgrades:
            data: dict[str, Any] = entry["data"]
            quote = data.get("quote") or {}
            target = await self.entitlements.plan(data["to_plan_id"])
            difference = Decimal(quote.get("monthly_difference") or "0")
            price = owed[-1].price_net + difference if difference > 0 else Decimal(target["price_net"])
            if data.get("as_of"):
                on = date.fromisoformat(data["as_of"])
            elif Decimal(quote.get("net") or "0") > 0:
                supplement = next(supplements, None)
                on = supplement.period_start if supplement and supplement.period_start else \
                    local_date(datetime.fromisoformat(entry["at"]))
            else:
                on = local_date(datetime.fromisoformat(entry["at"]))
            owed.append(_Owed(data["to_plan_id"], target["name"], price, on))
        return owed
