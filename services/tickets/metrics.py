"""The tickets service's metrics (docs/guides/operators.md lists them with example alerts):
SLA warnings and breaches, counted when the scan that raised them commits; mail waiting for an
operator and complaints past R-T9's deadline, counted on scrape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tickets.models import Complaint, InboundMail
from shared.clock import local_date
from shared.metrics import BoundedLabel
from shared.runtime import Runtime


def register(runtime: Runtime) -> None:
    m = runtime.metrics
    priority = BoundedLabel(limit=10)
    warnings = m.counter("tickets_sla_warnings", "SLA warnings raised (75 % of the reaction target used)",
                         ["priority"])
    breaches = m.counter("tickets_sla_breaches", "SLA breaches raised: `kind` breach (contractual) or "
                         "estimate_exceeded (a free plan's estimate); `excused` inside a force-majeure or "
                         "security-pause window (R-T6, R-T10)", ["priority", "kind", "excused"])

    def warned(event: dict[str, Any]) -> None:
        warnings.labels(m.service, priority(event["data"].get("priority"))).inc()

    def breached(event: dict[str, Any]) -> None:
        data = event["data"]
        breaches.labels(m.service, priority(data.get("priority")),
                        "breach" if data.get("kind") == "breach" else "estimate_exceeded",
                        "true" if data.get("excused") else "false").inc()

    m.on_event(["ticket.sla_warning"], warned)
    m.on_event(["ticket.sla_breached"], breached)

    unprocessed = m.gauge("tickets_inbound_mail_unprocessed", "Inbound mail kept `unprocessed` for an operator")
    overdue = m.gauge("tickets_complaints_overdue", "Complaints not answered by their deadline (R-T9: 30 days, or "
                      "the extension's date)")

    async def scrape(session: AsyncSession, now: datetime) -> None:
        today = local_date(now)
        m.set(unprocessed, (await session.execute(select(func.count()).select_from(InboundMail)
                                                  .where(InboundMail.status == "unprocessed"))).scalar_one())
        m.set(overdue, (await session.execute(
            select(func.count()).select_from(Complaint).where(
                Complaint.status.in_(("open", "extended")),  # indexed; few rows per status
                or_(Complaint.extended_to < today, Complaint.extended_to.is_(None) & (Complaint.due_on < today)))
        )).scalar_one())

    m.on_scrape(scrape)
