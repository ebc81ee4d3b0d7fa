"""Batch routes: the monthly billing run, the dunning run, and submitting due charges. Each
takes an explicit `as_of` and is safe to repeat."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Request

from services.billing.errors import InvalidPeriod
from services.billing.schemas import BillingRunIn, BillingRunOut, ChargeRunOut, DunningRunIn, DunningRunOut
from services.billing.service.dunning import DunningRun
from services.billing.service.runs import BillingRun
from shared.web.auth import scoped
from shared.errors import Forbidden, error_responses
from shared.roles import BILLING_ADMIN

router = APIRouter(tags=["runs"])


@router.post("/v1/billing-runs", operation_id="createBillingRun",
             response_model=BillingRunOut, summary="Invoice every active contract for a month",
             description="R-B1/R-B11: one invoice per active contract and period, with its pending overage lines "
                         "(R-B8); running it again (or twice at once) issues nothing new. Charges only inside R-B4's "
                         "window: from 24 h before the end of the preceding month through the period's third "
                         "business day; before it they are scheduled for its opening, after it the invoice waits "
                         "for payment.",
             responses=error_responses(Forbidden, InvalidPeriod))
async def billing_run(body: BillingRunIn, request: Request, _: scoped(BILLING_ADMIN)) -> BillingRunOut:
    runtime = request.app.state.runtime
    result = await BillingRun(runtime, runtime.settings).run(body.period, body.as_of)
    await request.app.state.charges.run_due(runtime.clock.now())
    return BillingRunOut(**asdict(result))


@router.post("/v1/dunning-runs", operation_id="createDunningRun",
             response_model=DunningRunOut, summary="Flag late payers, per contract",
             description="R-B5/R-E4: an invoice late, short or failed → `contract.payment_overdue` (entitlements "
                         "suspends; the event carries the customer's notice); paid in full → "
                         "`contract.payment_settled`; more than 7 days late → `contract.terminable` (R-B6/R-E5). "
                         "Each is emitted once per episode.",
             responses=error_responses(Forbidden))
async def dunning_run(body: DunningRunIn, request: Request, _: scoped(BILLING_ADMIN)) -> DunningRunOut:
    runtime = request.app.state.runtime
    return DunningRunOut(**asdict(await DunningRun(runtime, runtime.settings).run(body.as_of)))


@router.post("/v1/charge-runs", operation_id="createChargeRun",
             response_model=ChargeRunOut, summary="Submit due charges now",
             description="What the background charge runner does every few seconds: submit scheduled charges "
                         "that are due and reconcile unknown outcomes with the provider.",
             responses=error_responses(Forbidden))
async def charge_run(request: Request, _: scoped(BILLING_ADMIN), as_of: datetime | None = None) -> ChargeRunOut:
    return ChargeRunOut(**asdict(await request.app.state.charges.run_due(as_of)))
