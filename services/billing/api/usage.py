"""Usage: overage for the next invoice (R-B8), idempotent by event id."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.billing.api.deps import settings_of
from services.billing.errors import AccountNotFound, UsageConflict
from services.billing.schemas import UsageIn, UsageOut
from services.billing.service.accounts import AccountService
from shared.web.auth import scoped
from shared.errors import Forbidden, error_responses
from shared.roles import BILLING_WRITE
from shared.web.uow import UoW

router = APIRouter(tags=["usage"])


@router.post("/v1/usage", operation_id="recordOverage",
             status_code=201, response_model=UsageOut, summary="Overage for the next invoice",
             description="What entitlements also sends as `usage.overage`. Idempotent by `event_id`: a repeat "
                         "returns the first record with 200; the same id with other values is 409.",
             responses={**error_responses(Forbidden, AccountNotFound, UsageConflict),
                        200: {"model": UsageOut, "description": "Already recorded under this event_id."}})
async def record_usage(body: UsageIn, request: Request, uow: UoW, _: scoped(BILLING_WRITE)):
    usage, created = await AccountService(uow, settings_of(request)).add_usage(body.model_dump(mode="json"))
    out = UsageOut.model_validate(usage, from_attributes=True)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)
