"""Usage routes: quota consumption (R-S4, R-S6)."""

from __future__ import annotations

from fastapi import APIRouter

from services.entitlements.api.deps import Contracts, scoped
from services.entitlements.errors import (
    ContractNotFound, MetricNotInPlan, UsageEventReused, UsageNotAllowed, UsageTooLarge,
)
from services.entitlements.schemas import UsageIn, UsageOut
from services.entitlements.service.usage import UsageService
from shared.errors import Forbidden, error_responses
from shared.web.idempotency import IdempotencyOptional
from shared.roles import USAGE_WRITE

router = APIRouter(prefix="/v1/contracts/{contract_id}", tags=["usage"])


@router.post("/usage", operation_id="recordUsage", status_code=201, response_model=UsageOut, summary="Consume quota",
             description="Idempotent by `event_id` (a repeat returns the first record with 200). What the quota "
                         "does not cover is recorded as overage and emitted as `usage.overage` for billing.",
             responses={**error_responses(Forbidden, ContractNotFound, MetricNotInPlan, UsageNotAllowed,
                                          UsageTooLarge, UsageEventReused),
                        200: {"model": UsageOut, "description": "Already recorded under this event_id."}})
async def record_usage(contract_id: str, body: UsageIn, contracts: Contracts, idem: IdempotencyOptional,
                       _: scoped(USAGE_WRITE)):
    record, created = await UsageService(contracts).record(contract_id, body)
    return await idem.respond(201 if created else 200, UsageOut.model_validate(record, from_attributes=True))
