"""The entitlement check, the hot path: may this customer use `feature` of a support product now?

Facts come from one query (raw asyncpg on PostgreSQL, SQLAlchemy Core on SQLite); the rules
are one pure function over those facts and the catalogue snapshot, the same rules as the full
entitlement view (free plan where the paid one is not active, R-E4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.entitlements import repository as repo
from services.entitlements.errors import ProductNotFound
from services.entitlements.service.catalogue_cache import CatalogueCache, CatalogueSnapshot
from services.entitlements.service.terms import ACTIVE
from shared.coalesce import Coalescer
from shared.db import Database


@dataclass(frozen=True)
class CheckFact:
    licence_id: str
    licence_reference: str
    contract_id: str | None
    contract_status: str | None
    plan_id: str | None
    plan_version: int | None


def decide(facts: list[CheckFact], catalogue: CatalogueSnapshot, product_id: str, feature: str,
           at: datetime) -> dict[str, Any]:
    if not facts:
        return {"allowed": False, "plan_id": None, "reason": "no_licence", "contract_id": None}
    product = catalogue.products[product_id]
    candidates = []  # (plan, from_contract, fact)
    for fact in facts:
        if fact.contract_status == ACTIVE:
            plan = catalogue.effective(fact.plan_id, fact.plan_version, at)  # type: ignore[arg-type]
            candidates.append((plan, True, fact))
        elif product.free_plan_id and (free := catalogue.latest(product.free_plan_id)) is not None:
            candidates.append((free, False, fact))
    if not candidates:
        return {"allowed": False, "plan_id": None, "reason": "no_contract", "contract_id": None}
    granting = [c for c in candidates if feature in c[0].benefits]
    plan, from_contract, fact = max(granting or candidates, key=lambda c: (c[0].rank, c[1]))
    if not granting:
        reason = "not_in_plan"
    elif from_contract:
        reason = "included"
    else:
        reason = "free_plan_suspended" if fact.contract_id is not None else "free_plan"
    return {"allowed": bool(granting), "plan_id": plan.plan_id, "reason": reason, "contract_id": fact.contract_id}


class EntitlementChecker:
    """Owned by the app: the catalogue snapshot, and on PostgreSQL a coalescer so that
    concurrent checks share one query (shared/coalesce.py)."""

    def __init__(self, db: Database, cache: CatalogueCache) -> None:
        self.db, self.cache = db, cache
        self._coalescer: Coalescer[repo.CheckKey, list[tuple[Any, ...]]] | None = None
        if db.dialect == "postgresql":
            self._coalescer = Coalescer(lambda keys: repo.check_rows_raw_many(db.read_pool(), keys), default=[])

    async def _rows(self, customer_id: str, licence_product: str, product_id: str) -> list[tuple[Any, ...]]:
        if self._coalescer is not None:
            return await self._coalescer.load((customer_id, licence_product, product_id))
        async with self.db.session() as session:
            return await repo.check_rows(session, customer_id, licence_product, product_id)

    async def check(self, at: datetime, customer_id: str, product_id: str, feature: str,
                    licence_reference: str | None = None) -> dict[str, Any]:
        catalogue = await self.cache.snapshot_from(self.db)
        product = catalogue.products.get(product_id)
        if product is None:
            raise ProductNotFound(f"product {product_id!r} does not exist")
        facts = [CheckFact(*row) for row in await self._rows(customer_id, product.licence_product, product_id)]
        if licence_reference is not None:
            facts = [f for f in facts if f.licence_reference == licence_reference]
        return decide(facts, catalogue, product_id, feature, at)
