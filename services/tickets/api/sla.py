"""SLA routes: preview a deadline, scan for warnings and breaches."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel

from services.tickets.api.deps import scoped
from services.tickets.errors import EntitlementsUnavailable, UnknownProduct
from services.tickets.schemas.tickets import SlaPreviewOut
from services.tickets.service.monitor import scan as scan_as_of
from services.tickets.service.sla import due_times, explain
from shared.errors import Forbidden, error_responses
from shared.roles import TICKETS_READ, TICKETS_SUPERVISE
from shared.schemas import StrictModel

router = APIRouter(prefix="/v1/sla", tags=["sla"])


@router.get("/preview", operation_id="previewSla",
            response_model=SlaPreviewOut, summary="The reaction deadline for a ticket accepted at `at`",
            description="Counted in the plan's support hours (Polish holidays, Saturdays only where the plan has "
                        "them, DST), with an explanation of how it was reached.",
            responses=error_responses(Forbidden, UnknownProduct, EntitlementsUnavailable))
async def preview(request: Request, _: scoped(TICKETS_READ), plan_id: str = Query(min_length=1, max_length=64),
                  at: AwareDatetime = Query(description="An ISO 8601 instant with its offset.")) -> SlaPreviewOut:
    plan = await request.app.state.entitlements.plan(plan_id)
    policy = {"support_hours": plan["support_hours"], "reaction": plan["reaction"]}
    due = due_times(policy, at)
    return SlaPreviewOut(plan_id=plan_id, accepted_at=at, reaction_due_at=due.reaction_due_at,
                         limit_due_at=due.limit_due_at, explanation=explain(policy, at).text)


class ScanIn(StrictModel):
    as_of: AwareDatetime


class ScanOut(BaseModel):
    as_of: datetime
    warned: list[str]
    breached: list[str]


@router.post("/scan", operation_id="runSlaScan",
             response_model=ScanOut, summary="Raise SLA warnings and breaches as of an instant",
             description="Each warning (75 % of the target used, only while the plan's hours are open) and each "
                         "breach is raised once. A background scheduler runs the same scan.",
             responses=error_responses(Forbidden))
async def scan(body: ScanIn, request: Request, _: scoped(TICKETS_SUPERVISE)) -> ScanOut:
    state = request.app.state  # the scan takes chunks, each in its own unit of work
    result = await scan_as_of(state.runtime, body.as_of, entitlements=state.entitlements)
    return ScanOut(as_of=result.as_of, warned=result.warned, breached=result.breached)
