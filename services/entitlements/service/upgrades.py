"""Upgrades (R-E3, R-B7): to a higher rank of the same product, never down. The supplement is
quoted at once; the plan switches when billing reports it paid (at once for a zero fee)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from services.entitlements import repository as repo
from services.entitlements.errors import (
    DateOutsideTerm, DowngradeNotAllowed, InvalidTransition, NoPendingUpgrade, PlanNotInProduct, UpgradeDateInFuture,
    UpgradePending,
)
from services.entitlements.models import Contract
from services.entitlements.service.catalogue import CatalogueService
from services.entitlements.service.contracts import ContractService, contract_event_data
from services.entitlements.service.pricing import Quote, upgrade_quote
from services.entitlements.service.terms import ACTIVE


def quote_json(quote: Quote) -> dict[str, object]:
    return {k: (f"{v:.2f}" if not isinstance(v, (int, str)) else v) for k, v in asdict(quote).items()}


class UpgradeService:
    def __init__(self, contracts: ContractService) -> None:
        self.contracts = contracts
        self.uow = contracts.uow

    async def request(self, contract_id: str, plan_id: str, as_of: date | None, actor: str) -> tuple[Contract, Quote, bool]:
        contract = await self.contracts.get(contract_id, for_update=True)
        if contract.status != ACTIVE:
            raise InvalidTransition(f"cannot upgrade contract {contract.id}: it is {contract.status}; "
                                    "only an active contract can be upgraded")
        if contract.pending_upgrade is not None:
            raise UpgradePending(f"an upgrade to {contract.pending_upgrade['plan_id']} is waiting for payment")
        target = await CatalogueService(self.uow).plan(plan_id)
        if target.product_id != contract.product_id:
            raise PlanNotInProduct(f"plan {plan_id!r} is a {target.product_id} plan; the contract is "
                                   f"{contract.product_id}")
        today = self.contracts.today()
        day = as_of or today
        if not contract.starts_on <= day <= contract.ends_on:
            raise DateOutsideTerm(f"{day.isoformat()} is outside the term {contract.starts_on}–{contract.ends_on}")
        if day > today:  # the plan switches when the supplement is paid, so a later date could not hold (R-B7)
            raise UpgradeDateInFuture(f"{day.isoformat()} is after today ({today.isoformat()}); request the upgrade "
                                      "on the day it should start")
        current = await repo.effective_plan(self.uow.session, contract.plan_id, contract.plan_version,
                                            self.uow.clock.now())
        assert current is not None
        if target.rank <= current.rank:
            raise DowngradeNotAllowed(f"{current.plan_id} (rank {current.rank}) cannot change to {target.plan_id} "
                                      f"(rank {target.rank}): plans are upgraded, never downgraded (R-E3)")
        quote = upgrade_quote(current.price_net, target.price_net, day, contract.ends_on)
        if quote.net == 0:
            contract.pending_upgrade = {"plan_id": target.plan_id, "plan_version": target.version,
                                        "requested_on": day.isoformat(), "quote": quote_json(quote)}
            await self.apply(contract.id, None, actor)
            return contract, quote, True
        contract.pending_upgrade = {"plan_id": target.plan_id, "plan_version": target.version,
                                    "requested_on": day.isoformat(), "quote": quote_json(quote)}
        await self.contracts.record_history(contract, "upgrade_requested", contract.status, actor, None,
                                            {"to_plan_id": target.plan_id, "to_plan_version": target.version,
                                             "as_of": day.isoformat(), "quote": quote_json(quote)})
        self.uow.events.emit("contract.upgrade_requested", contract_event_data(
            contract, from_plan_id=current.plan_id, to_plan_id=target.plan_id, to_plan_version=target.version,
            to_price_net=f"{target.price_net:.2f}", to_plan_name=target.name, as_of=day.isoformat(),
            quote=quote_json(quote)),
            subject=contract.id)
        return contract, quote, False

    async def apply(self, contract_id: str, plan_id: str | None, actor: str) -> Contract:
        """Billing reports the supplement paid: switch the plan (the new price from next month)."""
        contract = await self.contracts.get(contract_id, for_update=True)
        pending = contract.pending_upgrade
        if pending is None:
            raise NoPendingUpgrade(f"contract {contract.id} has no upgrade waiting for payment")
        if plan_id is not None and plan_id != pending["plan_id"]:
            raise NoPendingUpgrade(f"the pending upgrade is to {pending['plan_id']}, not {plan_id}")
        previous = contract.plan_id
        contract.previous_plan_id = previous
        contract.plan_id, contract.plan_version = pending["plan_id"], int(pending["plan_version"])
        contract.plan_changed_on = self.contracts.today()
        contract.pending_upgrade = None
        # `as_of`: the day the new plan's price is owed from (R-B7), which billing prices by;
        # `upgraded_on`: the day the plan switched (the supplement was paid)
        await self.contracts.record_history(contract, "upgraded", contract.status, actor, None,
                                            {"from_plan_id": previous, "to_plan_id": contract.plan_id,
                                             "as_of": pending.get("requested_on"), "quote": pending.get("quote")})
        plan = await CatalogueService(self.uow).plan(contract.plan_id, contract.plan_version)
        self.uow.events.emit("contract.upgraded", contract_event_data(
            contract, plan=plan, from_plan_id=previous, quote=pending.get("quote"), as_of=pending.get("requested_on"),
            upgraded_on=contract.plan_changed_on.isoformat()), subject=contract.id)
        return contract
