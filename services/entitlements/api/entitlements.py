"""Entitlement routes: the full view and the hot-path check."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request

from services.entitlements.api.deps import licence_out, scoped
from services.entitlements.errors import ProductNotFound
from services.entitlements.schemas import CheckOut, EntitlementOut, EntitlementsOut, PlanRef, QuotaStateOut
from services.entitlements.service.entitlements import EntitlementService
from shared.clock import local_date
from shared.errors import Forbidden, error_responses
from shared.roles import ENTITLEMENTS_READ
from services.entitlements.api.deps import Catalogue
from shared.web.uow import ReadUoW

router = APIRouter(prefix="/v1/customers/{customer_id}/entitlements", tags=["entitlements"])
CustomerId = Path(min_length=1, max_length=100)


@router.get("", operation_id="getEntitlements",
            response_model=EntitlementsOut, summary="What this customer may have now, per licence",
            description="Per licence and support product: the effective plan (the free plan where the paid one is "
                        "suspended, unpaid or absent and the product has one), benefits, quotas used and left this "
                        "period, the SLA policy and how long it is valid.",
            responses=error_responses(Forbidden))
async def entitlements(uow: ReadUoW, cache: Catalogue, principal: scoped(ENTITLEMENTS_READ), customer_id: str = CustomerId,
                       product: str | None = Query(default=None, max_length=64)) -> EntitlementsOut:
    principal.ensure_may_see(customer_id, "customer")
    found = await EntitlementService(uow, cache).for_customer(customer_id, product_id=product)
    items = [EntitlementOut(
        licence=licence_out(e.licence), product_id=e.product.id, source=e.source, status=e.status,  # type: ignore[arg-type]
        contract_id=e.contract.id if e.contract else None,
        contract_status=e.contract.status if e.contract else None,
        plan=PlanRef(id=e.plan.plan_id, version=e.plan.version, name=e.plan.name, rank=e.plan.rank),
        priority=e.plan.priority, benefits=e.plan.benefits, excluded_categories=e.plan.excluded_categories,
        quotas=[QuotaStateOut(**q) for q in e.quotas], sla=e.sla(), valid_until=e.valid_until, tam=e.tam,
    ) for e in found]
    return EntitlementsOut(customer_id=customer_id, as_of=local_date(uow.clock.now()), entitlements=items)


@router.get("/check", operation_id="checkEntitlement",
            response_model=CheckOut, summary="May this customer use a feature now? (hot path)",
            description="`reason`: `included`, `free_plan`, `free_plan_suspended` (paid plan suspended or unpaid, "
                        "the free plan's benefits apply), `not_in_plan`, `no_contract`, `no_licence`.",
            responses=error_responses(Forbidden, ProductNotFound))
async def check(request: Request, principal: scoped(ENTITLEMENTS_READ),
                customer_id: str = CustomerId,
                product: str = Query(min_length=1, max_length=64, description="Support product id."),
                feature: str = Query(min_length=1, max_length=64, description="Benefit key, e.g. `remote_help`."),
                licence: str | None = Query(default=None, max_length=200, description="Licence reference.")
                ) -> CheckOut:
    principal.ensure_may_see(customer_id, "customer")
    state = request.app.state
    return CheckOut(**await state.checker.check(state.runtime.clock.now(), customer_id, product, feature, licence))
