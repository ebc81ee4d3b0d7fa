"""What a customer may have right now: per licence and support product, the effective plan
(the free plan where the paid one is suspended, unpaid or absent, and the product has one),
benefits, quotas left this period and the SLA policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.entitlements import repository as repo
from services.entitlements.errors import ProductNotFound
from services.entitlements.models import Contract, Licence, PlanVersion, Product
from services.entitlements.service.catalogue_cache import CatalogueCache, CatalogueSnapshot
from services.entitlements.service.quotas import QuotaRule
from services.entitlements.service.terms import ACTIVE
from services.entitlements.statuses import EntitlementSource, EntitlementStatus
from shared.clock import local_date
from shared.uow import UnitOfWork


@dataclass
class Entitlement:
    licence: Licence
    product: Product
    plan: PlanVersion
    source: EntitlementSource
    status: EntitlementStatus
    contract: Contract | None
    quotas: list[dict[str, Any]]

    @property
    def valid_until(self) -> date | None:
        return self.contract.ends_on if self.source == "contract" and self.contract else None

    @property
    def tam(self) -> dict[str, Any] | None:
        """R-T8: Advanced contracts have a named TAM, the seller's representative on the contract."""
        if self.source == "contract" and self.contract is not None and "tam" in self.plan.benefits:
            return self.contract.representatives.get("seller")
        return None

    def sla(self) -> dict[str, Any]:
        return {"support_hours": self.plan.support_hours, "reaction": self.plan.reaction,
                "priority": self.plan.priority}


class EntitlementService:
    def __init__(self, uow: UnitOfWork, catalogue: CatalogueCache) -> None:
        self.uow, self.cache = uow, catalogue
        self.session = uow.session

    async def for_customer(self, customer_id: str, *, at: datetime | None = None, product_id: str | None = None,
                           with_quotas: bool = True) -> list[Entitlement]:
        at = at or self.uow.clock.now()
        catalogue = await self.cache.snapshot(self.session)
        if product_id is not None:
            product = catalogue.products.get(product_id)
            if product is None:
                raise ProductNotFound(f"product {product_id!r} does not exist")
            rows = await repo.licences_with_live_contracts(self.session, customer_id, product.licence_product)
        else:
            rows = await repo.licences_with_live_contracts(self.session, customer_id)
        out: list[Entitlement] = []
        for licence, contracts in rows:
            by_product = {c.product_id: c for c in contracts}
            products = ([catalogue.products[product_id]] if product_id is not None
                        else catalogue.products_for_licence(licence.product))
            for product in products:
                found = await self._one(catalogue, licence, product, by_product.get(product.id), at, with_quotas)
                if found is not None:
                    out.append(found)
        return out

    async def _one(self, catalogue: CatalogueSnapshot, licence: Licence, product: Product, contract: Contract | None,
                   at: datetime, with_quotas: bool) -> Entitlement | None:
        if contract is not None and contract.status == ACTIVE:
            plan = catalogue.effective(contract.plan_id, contract.plan_version, at)
            assert plan is not None
            quotas = await self._quotas(contract, plan, local_date(at)) if with_quotas else []
            return Entitlement(licence, product, plan, EntitlementSource.CONTRACT, EntitlementStatus.ACTIVE, contract,
                               quotas)
        if product.free_plan_id:  # no paid plan in force (absent, unpaid or suspended, R-E4)
            plan = catalogue.latest(product.free_plan_id)
            if plan is not None:
                return Entitlement(licence, product, plan, EntitlementSource.FREE_PLAN, EntitlementStatus.FREE,
                                   contract, [])
        return None

    async def _quotas(self, contract: Contract, plan: PlanVersion, on: date) -> list[dict[str, Any]]:
        rules = [QuotaRule.from_plan(metric, raw) for metric, raw in plan.quotas.items()]
        if not rules:
            return []
        used = await repo.usage_sums(self.session, contract.id, {r.metric: r.period_key(on) for r in rules})
        states = []
        for rule in rules:
            start, end = rule.period_bounds(on, contract.starts_on, contract.ends_on)
            n = used.get(rule.metric, 0)
            states.append({"metric": rule.metric, "unit": rule.unit, "period": rule.period, "period_start": start,
                           "period_end": end, "limit": rule.limit, "used": n, "left": max(0, rule.limit - n),
                           "overage": max(0, n - rule.limit)})
        return states
