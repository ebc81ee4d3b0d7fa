"""Catalogue routes: read by every authenticated caller, edited by admins."""

from __future__ import annotations

from fastapi import APIRouter, Query

from services.entitlements.errors import CatalogueInvalid, PlanNotFound, ProductNotFound, ProductUnsellable
from services.entitlements.models import PlanVersion
from services.entitlements.schemas import (
    CatalogueFile, CatalogueLoadReport, PlanIn, PlanOut, PlanSummary, PlanTerms, ProductIn, ProductOut,
)
from services.entitlements.service.catalogue import CatalogueService
from services.entitlements.api.deps import Catalogue, Settings, scoped
from shared.errors import Forbidden, error_responses
from shared.roles import CATALOGUE_READ, CATALOGUE_WRITE
from shared.web.uow import UoW

router = APIRouter(prefix="/v1", tags=["catalogue"])


def plan_out(plan: PlanVersion) -> PlanOut:
    return PlanOut.model_validate({**plan.model_dump(), "id": plan.plan_id})


def plan_summary(plan: PlanVersion) -> PlanSummary:
    return PlanSummary(id=plan.plan_id, version=plan.version, name=plan.name, rank=plan.rank,
                       price_net=plan.price_net, purchasable=plan.purchasable)


@router.get("/products", operation_id="listProducts",
            response_model=list[ProductOut], summary="List support products and their plans",
            responses=error_responses(Forbidden))
async def list_products(uow: UoW, _: scoped(CATALOGUE_READ)) -> list[ProductOut]:
    rows = await CatalogueService(uow).products()
    return [ProductOut(id=p.id, name=p.name, licence_product=p.licence_product, free_plan_id=p.free_plan_id,
                       term_months=p.term_months, plans=[plan_summary(v) for v in plans]) for p, plans in rows]


@router.get("/plans/{plan_id}", operation_id="getPlan",
            response_model=PlanOut, summary="A plan's terms (latest or a given version)",
            responses=error_responses(Forbidden, PlanNotFound))
async def get_plan(plan_id: str, uow: UoW, _: scoped(CATALOGUE_READ),
                   version: int | None = Query(default=None, ge=1, le=2**31 - 1,
                                               description="A past version; default latest.")
                   ) -> PlanOut:
    return plan_out(await CatalogueService(uow).plan(plan_id, version))


@router.put("/products/{product_id}", operation_id="upsertProduct",
            response_model=ProductOut, summary="Create or edit a product (admin)",
            description="An edit that would leave a product with plans unsellable (its free plan not one of "
                        "them, or no other plan for sale) is refused and nothing changes.",
            responses=error_responses(Forbidden, CatalogueInvalid, ProductUnsellable))
async def put_product(product_id: str, body: ProductIn, uow: UoW, cache: Catalogue,
                      _: scoped(CATALOGUE_WRITE)) -> ProductOut:
    cache.invalidate()
    service = CatalogueService(uow)
    product = await service.upsert_product(product_id, body)
    plans = [plan for p, plans in await service.products() if p.id == product.id for plan in plans]
    return ProductOut(id=product.id, name=product.name, licence_product=product.licence_product,
                      free_plan_id=product.free_plan_id, term_months=product.term_months,
                      plans=[plan_summary(v) for v in plans])


@router.put("/plans/{plan_id}", operation_id="publishPlan", response_model=PlanOut,
            summary="Publish new terms for a plan (admin)",
            description="Publishes a new version when the terms differ from the latest one; existing contracts "
                        "keep their version and get the new terms one month later (R-E6), and their customers are "
                        "told (`contract.terms_changed`). New purchases use the new version at once.",
            responses=error_responses(Forbidden, ProductNotFound, CatalogueInvalid, ProductUnsellable))
async def put_plan(plan_id: str, body: PlanIn, uow: UoW, settings: Settings, cache: Catalogue,
                   _: scoped(CATALOGUE_WRITE)) -> PlanOut:
    cache.invalidate()
    terms = PlanTerms.model_validate(body.model_dump(exclude={"product_id"}))
    version, _changed = await CatalogueService(uow, notice_months=settings.terms_notice_months).publish_plan(
        plan_id, body.product_id, terms)
    return plan_out(version)


@router.post("/catalogue", operation_id="loadCatalogue",
             response_model=CatalogueLoadReport, summary="Load a whole catalogue (admin)",
             description="Same as `supportctl catalogue load`: idempotent; only changed plans get a new version.",
             responses=error_responses(Forbidden, CatalogueInvalid, ProductUnsellable))
async def load_catalogue(body: CatalogueFile, uow: UoW, settings: Settings, cache: Catalogue,
                         _: scoped(CATALOGUE_WRITE)) -> CatalogueLoadReport:
    cache.invalidate()
    return await CatalogueService(uow, notice_months=settings.terms_notice_months).load(body)
