"""Upgrade routes (R-E3, R-B7)."""

from __future__ import annotations

from fastapi import APIRouter

from services.entitlements.api.deps import Contracts, contract_out, scoped
from services.entitlements.errors import (
    ContractNotFound, DateOutsideTerm, DowngradeNotAllowed, InvalidTransition, NoPendingUpgrade, PlanNotFound,
    PlanNotInProduct, UpgradeDateInFuture, UpgradePending,
)
from services.entitlements.schemas import ContractOut, QuoteOut, UpgradeIn, UpgradeOut, UpgradePaidIn
from services.entitlements.service.upgrades import UpgradeService
from services.entitlements.statuses import UpgradeStatus
from shared.errors import Forbidden, error_responses
from shared.roles import CONTRACTS_MANAGE, CONTRACTS_UPGRADE

router = APIRouter(prefix="/v1/contracts/{contract_id}", tags=["upgrades"])


@router.post("/upgrade", operation_id="upgradeContract",
             response_model=UpgradeOut, summary="Upgrade to a higher plan of the same product",
             description="Returns the supplement quote (R-B7) and emits `contract.upgrade_requested`; the plan "
                         "switches when billing reports the supplement paid (`contract.upgrade_paid`), or at once "
                         "for a zero fee. A lower or equal rank is refused (R-E3). `as_of` may be today or earlier in "
                         "the term, never later (422 `upgrade_date_in_future`).",
             responses=error_responses(Forbidden, ContractNotFound, PlanNotFound, PlanNotInProduct,
                                       DowngradeNotAllowed, UpgradePending, InvalidTransition, DateOutsideTerm,
                                       UpgradeDateInFuture))
async def upgrade(contract_id: str, body: UpgradeIn, contracts: Contracts,
                  principal: scoped(CONTRACTS_UPGRADE)) -> UpgradeOut:
    contract = await contracts.visible(contract_id, principal)
    from_plan = contract.plan_id
    contract, quote, applied = await UpgradeService(contracts).request(contract_id, body.plan_id, body.as_of,
                                                                       principal.sub)
    return UpgradeOut(contract_id=contract.id, from_plan_id=from_plan, to_plan_id=body.plan_id,
                      as_of=body.as_of or contracts.today(),
                      status=UpgradeStatus.APPLIED if applied else UpgradeStatus.PENDING_PAYMENT,
                      quote=QuoteOut(net=quote.net, vat=quote.vat, gross=quote.gross,
                                     monthly_difference=quote.monthly_difference,
                                     remaining_days=quote.remaining_days, days_in_month=quote.days_in_month))


@router.post("/upgrade/paid", operation_id="applyPaidUpgrade", response_model=ContractOut,
             summary="Apply a paid upgrade (billing, or an administrator)",
             description="The same as billing's `contract.upgrade_paid` event.",
             responses=error_responses(Forbidden, ContractNotFound, NoPendingUpgrade))
async def upgrade_paid(contract_id: str, contracts: Contracts, principal: scoped(CONTRACTS_MANAGE),
                       body: UpgradePaidIn | None = None) -> ContractOut:
    contract = await UpgradeService(contracts).apply(contract_id, body.plan_id if body else None, principal.sub)
    return contract_out(contract, await contracts.licence_of(contract))
