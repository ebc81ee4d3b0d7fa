"""Batch routes: the monthly billing run (started, then watched), the dunning run, and submitting
due charges. Each takes an explicit `as_of` and is safe to repeat."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response

from services.billing.errors import BillingRunNotFound, InvalidPeriod
from services.billing.schemas import (
    BillingRunFailureOut, BillingRunIn, BillingRunOut, ChargeRunOut, DunningRunIn, DunningRunOut,
)
from services.billing.service.dunning import DunningRun
from services.billing.service.runs import BillingRuns, RunReport
from shared.web.auth import scoped
from shared.web.idempotency import read_key
from shared.errors import Forbidden, IdempotencyKeyReused, error_responses
from shared.roles import BILLING_ADMIN

router = APIRouter(tags=["runs"])

MAX_WAIT = 300.0
PREFER = ("RFC 7240: `wait=N` waits up to N seconds (at most 300) for the run to finish, and the request's replica "
          "works on its chunks meanwhile.")


def _wait_seconds(prefer: str | None) -> float:
    """RFC 7240 `Prefer: wait=N`: how long the caller would rather wait for the finished run."""
    found = re.search(r"(?:^|[,;\s])wait\s*=\s*(\d{1,6})\b", prefer or "")
    return min(float(found.group(1)), MAX_WAIT) if found else 0.0


def _run_out(report: RunReport) -> BillingRunOut:
    run = report.run
    return BillingRunOut(
        id=run.id, status=run.status, period=run.period, as_of=run.as_of, total=run.total, done=report.done,
        chunks=run.chunks, chunks_done=report.chunks_done, chunks_retaken=report.chunks_retaken,
        chunks_one_by_one=report.chunks_one_by_one, **asdict(report.figures),
        failures=[BillingRunFailureOut(contract_id=f.contract_id, reason=f.reason, occurred_at=f.occurred_at)
                  for f in report.failures],
        created_at=run.created_at, finished_at=run.finished_at)


@router.post("/v1/billing-runs", operation_id="createBillingRun", status_code=202,
             response_model=BillingRunOut, summary="Start the billing run of a month (or join it)",
             description="R-B1/R-B11: one invoice per active contract and period, with its pending overage lines "
                         "(R-B8). The run is recorded and answered at once (202, `Location`); every billing "
                         "replica's worker invoices its chunks, and `GET /v1/billing-runs/{run_id}` shows its "
                         "progress, figures and failures. Starting a period that is running joins that run; "
                         "starting it again later replays it and issues nothing twice. `Prefer: wait=N` (at most "
                         f"{MAX_WAIT:.0f} s) answers 200 with the finished run if it finishes within N seconds. "
                         "Charges only inside R-B4's window: from 24 h before the end of the preceding month "
                         "through the period's third business day; before it they are scheduled for its opening, "
                         "after it the invoice waits for payment.",
             responses={200: {"model": BillingRunOut, "description": "The run finished within `Prefer: wait`."},
                        **error_responses(Forbidden, InvalidPeriod, IdempotencyKeyReused)})
async def start_billing_run(body: BillingRunIn, request: Request, response: Response,
                            principal: scoped(BILLING_ADMIN),
                            prefer: str | None = Header(None, max_length=200, description=PREFER),
                            ) -> BillingRunOut:
    runtime = request.app.state.runtime
    runs = BillingRuns(runtime, runtime.settings)
    run = await runs.start(body.period, body.as_of, requested_by=principal.sub,
                           idempotency_key=read_key(request, required=False))
    wait = _wait_seconds(prefer)
    report = await runs.wait(run.id, wait, request.app.state.run_worker)
    if wait:
        response.headers["Preference-Applied"] = f"wait={wait:.0f}"
    if report.finished and wait:
        response.status_code = 200
        await request.app.state.charges.run_due(runtime.clock.now())  # what is due now goes out before the answer
    response.headers["Location"] = f"/v1/billing-runs/{run.id}"
    return _run_out(report)


@router.get("/v1/billing-runs/{run_id}", operation_id="getBillingRun", response_model=BillingRunOut,
            summary="A billing run's progress, figures and failures",
            responses=error_responses(Forbidden, BillingRunNotFound))
async def get_billing_run(run_id: Annotated[str, Path(max_length=40)], request: Request,
                          _: scoped(BILLING_ADMIN)) -> BillingRunOut:
    runtime = request.app.state.runtime
    return _run_out(await BillingRuns(runtime, runtime.settings).report(run_id))


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
