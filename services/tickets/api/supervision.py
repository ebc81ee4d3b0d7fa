"""Supervisor routes: force-majeure and security-pause windows, the SLA report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from services.tickets.api.deps import Tickets, scoped
from services.tickets.service.outages import OutageService
from services.tickets.service.reports import sla_report
from shared.errors import Forbidden, Unprocessable, error_responses
from shared.roles import TICKETS_READ, TICKETS_SUPERVISE
from shared.schemas import StrictModel

router = APIRouter(prefix="/v1", tags=["supervision"])


class OutageIn(StrictModel):
    kind: Literal["force_majeure", "security_pause"]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    description: str = Field(min_length=1, max_length=5000)
    products: list[str] = Field(default_factory=list, description="Affected support products; empty: all.")


class OutageOut(BaseModel):
    id: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    description: str
    products: list[str]
    declared_by: str
    declared_at: datetime
    excused_ticket_ids: list[str] = Field(default_factory=list)


class SlaReportRow(BaseModel):
    plan_id: str
    contractual: bool
    tickets: int
    met: int
    breached: int
    excused: int
    pending: int
    median_reaction_business_minutes: float | None


class SlaReportOut(BaseModel):
    period: str
    plans: list[SlaReportRow]


@router.post("/outage-windows", operation_id="declareOutageWindow", status_code=201, response_model=OutageOut,
             summary="Declare a force-majeure or security-pause window (R-T6, R-T10)",
             description="Breaches whose deadline falls inside are excused (not erased); customers with open "
                         "tickets on the affected products are told, with the expected duration.",
             responses=error_responses(Forbidden, Unprocessable))
async def declare(body: OutageIn, tickets: Tickets, principal: scoped(TICKETS_SUPERVISE)) -> OutageOut:
    window, excused = await OutageService(tickets).declare(body.kind, body.starts_at, body.ends_at, body.description,
                                                           body.products, principal.sub)
    return OutageOut(**window.model_dump(), excused_ticket_ids=excused)


@router.get("/outage-windows", operation_id="listOutageWindows",
            response_model=list[OutageOut], summary="Declared windows, newest first",
            responses=error_responses(Forbidden))
async def windows(tickets: Tickets, _: scoped(TICKETS_READ)) -> list[OutageOut]:
    return [OutageOut(**w.model_dump()) for w in await OutageService(tickets).listing()]


@router.get("/reports/sla", operation_id="getSlaReport",
            response_model=SlaReportOut, summary="SLA attainment per plan for a month",
            description="Tickets accepted in the month: met, breached, excused (inside a declared window), still "
                        "pending, and the median reaction in business minutes.",
            responses=error_responses(Forbidden))
async def report(tickets: Tickets, _: scoped(TICKETS_SUPERVISE),
                 period: str = Query(pattern=r"^20\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM")) -> SlaReportOut:
    return SlaReportOut(period=period, plans=[SlaReportRow(**row) for row in await sla_report(tickets, period)])
