"""Catalogue: products and versioned plans. Loading or editing a plan publishes a new version
only when its terms change; contracts keep the version they bought until R-E6 lets new terms
apply (one month after publication, customers told by e-mail through `contract.terms_changed`)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import yaml

from services.entitlements import repository as repo
from services.entitlements.errors import CatalogueInvalid, PlanNotFound, ProductNotFound, ProductUnsellable
from services.entitlements.models import PlanVersion, Product
from services.entitlements.schemas import CatalogueFile, CatalogueLoadReport, PlanTerms, ProductIn
from services.entitlements.service.terms import add_months
from shared.uow import UnitOfWork

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "catalogue.yaml"


def read_catalogue_file(path: Path) -> CatalogueFile:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return CatalogueFile.model_validate(raw)


def terms_hash(terms: PlanTerms) -> str:
    canonical = json.dumps(terms.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _shift_months(at: datetime, months: int) -> datetime:
    shifted = add_months(at.date(), months)
    return at.replace(year=shifted.year, month=shifted.month, day=shifted.day)


class CatalogueService:
    def __init__(self, uow: UnitOfWork, *, notice_months: int = 1) -> None:
        self.uow, self.notice_months = uow, notice_months

    async def upsert_product(self, product_id: str, data: ProductIn, *, check: bool = True) -> Product:
        """`check=False`: the caller publishes the product's plans next and checks it then."""
        now = self.uow.clock.now()
        product = await repo.get_product(self.uow.session, product_id)
        if product is None:
            product = Product(id=product_id, name=data.name, licence_product=data.licence_product,
                              free_plan_id=data.free_plan, term_months=sorted(set(data.term_months)), updated_at=now)
            self.uow.session.add(product)
        else:
            product.name, product.licence_product = data.name, data.licence_product
            product.free_plan_id, product.term_months = data.free_plan, sorted(set(data.term_months))
            product.updated_at = now
        await self.uow.session.flush()
        if check:
            await self._still_sellable(product)
        return product

    async def _still_sellable(self, product: Product) -> None:
        """Refuse an edit that would stop every sale of a product that has plans: its free plan
        must be one of them, and some other plan must be for sale (the edit is rolled back)."""
        plans = await repo.latest_plans(self.uow.session, product.id)
        if not plans:
            return  # being built: its plans are published next
        if product.free_plan_id and product.free_plan_id not in {p.plan_id for p in plans}:
            raise CatalogueInvalid(f"{product.id}: free plan {product.free_plan_id!r} is not one of its plans")
        if not any(p.purchasable and p.plan_id != product.free_plan_id for p in plans):
            raise ProductUnsellable(f"{product.id}: no plan but the free one would be for sale "
                                    f"({', '.join(p.plan_id for p in plans)})")

    async def publish_plan(self, plan_id: str, product_id: str, terms: PlanTerms) -> tuple[PlanVersion, bool]:
        """Publish `terms` as the plan's next version unless they equal the latest; returns
        (version, published?)."""
        if await repo.get_product(self.uow.session, product_id) is None:
            raise ProductNotFound(f"product {product_id!r} does not exist")
        digest = terms_hash(terms)
        latest = await repo.latest_plan(self.uow.session, plan_id)
        if latest is not None and latest.product_id != product_id:
            raise CatalogueInvalid(f"plan {plan_id!r} belongs to product {latest.product_id!r}")
        if latest is not None and latest.content_hash == digest:
            return latest, False
        now = self.uow.clock.now()
        version = PlanVersion(
            plan_id=plan_id, version=(latest.version + 1) if latest else 1, product_id=product_id,
            content_hash=digest, published_at=now,
            applies_to_existing_from=_shift_months(now, self.notice_months) if latest else now,
            **{k: v for k, v in terms.model_dump(mode="json").items() if k not in {"price_net", "overage_prices"}},
            price_net=terms.price_net,
            overage_prices={k: f"{v:.2f}" for k, v in terms.overage_prices.items()},
        )
        self.uow.session.add(version)
        await self.uow.session.flush()
        if latest is not None:  # (a first version cannot take a sale away)
            await self._still_sellable(await self.product(product_id))
            await self._tell_customers(version)
        return version, True

    async def _tell_customers(self, version: PlanVersion) -> None:
        """R-E6: customers on the plan are told by e-mail; they may terminate with 7 days' notice."""
        for contract in await repo.live_contracts_on_plan(self.uow.session, version.plan_id):
            self.uow.events.emit("contract.terms_changed", {
                "contract_id": contract.id, "customer_id": contract.customer_id,
                "email": contract.billing.get("email"), "plan_id": version.plan_id,
                "new_version": version.version, "published_at": version.published_at.isoformat(),
                "applies_from": version.applies_to_existing_from.isoformat(),
            }, subject=contract.id)

    async def load(self, catalogue: CatalogueFile) -> CatalogueLoadReport:
        self._check_consistency(catalogue)
        published, unchanged = [], []
        for product in catalogue.products:
            await self.upsert_product(product.id, product, check=False)
            for plan in product.plans:
                terms = PlanTerms.model_validate(plan.model_dump(exclude={"id"}))
                _, changed = await self.publish_plan(plan.id, product.id, terms)
                (published if changed else unchanged).append(plan.id)
            await self._still_sellable(await self.product(product.id))
        return CatalogueLoadReport(products=len(catalogue.products), plans_published=published,
                                   plans_unchanged=unchanged)

    @staticmethod
    def _check_consistency(catalogue: CatalogueFile) -> None:
        seen: set[str] = set()
        for product in catalogue.products:
            plan_ids = {p.id for p in product.plans}
            if product.free_plan and product.free_plan not in plan_ids:
                raise CatalogueInvalid(f"{product.id}: free plan {product.free_plan!r} is not one of its plans")
            ranks = [p.rank for p in product.plans]
            if len(ranks) != len(set(ranks)):
                raise CatalogueInvalid(f"{product.id}: two plans share a rank")
            dup = seen & plan_ids
            if dup:
                raise CatalogueInvalid(f"plan ids used twice: {sorted(dup)}")
            seen |= plan_ids

    async def products(self) -> list[tuple[Product, list[PlanVersion]]]:
        products = await repo.list_products(self.uow.session)
        plans = await repo.latest_plans(self.uow.session)
        by_product: dict[str, list[PlanVersion]] = {}
        for plan in plans:
            by_product.setdefault(plan.product_id, []).append(plan)
        return [(p, by_product.get(p.id, [])) for p in products]

    async def plan(self, plan_id: str, version: int | None = None) -> PlanVersion:
        found = (await repo.plan_version(self.uow.session, plan_id, version) if version is not None
                 else await repo.latest_plan(self.uow.session, plan_id))
        if found is None:
            raise PlanNotFound(f"plan {plan_id!r}" + (f" version {version}" if version else "") + " does not exist")
        return found

    async def product(self, product_id: str) -> Product:
        found = await repo.get_product(self.uow.session, product_id)
        if found is None:
            raise ProductNotFound(f"product {product_id!r} does not exist")
        return found

