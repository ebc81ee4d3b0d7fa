"""The entitlements service's metrics (docs/guides/operators.md lists them with example alerts):
R-E9's data dispositions past their deadline, counted on scrape."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.entitlements.models import DataDisposition
from shared.clock import local_date
from shared.runtime import Runtime


def register(runtime: Runtime) -> None:
    m = runtime.metrics
    overdue = m.gauge("entitlements_data_dispositions_overdue",
                      "Contracts whose personal data was not returned or deleted by the R-E9 deadline")
    open_ = m.gauge("entitlements_data_dispositions_open", "Data dispositions not completed yet (R-E9)")

    async def scrape(session: AsyncSession, now: datetime) -> None:
        pending = DataDisposition.completed_on.is_(None)
        count = select(func.count()).select_from(DataDisposition)
        m.set(overdue, (await session.execute(count.where(pending, DataDisposition.due_on < local_date(now))
                                              )).scalar_one())  # ix on due_on
        m.set(open_, (await session.execute(count.where(pending))).scalar_one())

    m.on_scrape(scrape)
