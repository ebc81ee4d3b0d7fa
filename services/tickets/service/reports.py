"""The monthly SLA report per plan: met, breached, excused, median reaction in business minutes."""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.tickets.models import Ticket
from services.tickets.service.sla import minutes_used
from services.tickets.service.tickets import TicketService

WARSAW = ZoneInfo("Europe/Warsaw")


def month_bounds(period: str) -> tuple[datetime, datetime]:
    year, month = (int(x) for x in period.split("-"))
    start = datetime(year, month, 1, tzinfo=WARSAW)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=WARSAW)
    return start, end


async def sla_report(tickets: TicketService, period: str) -> list[dict[str, Any]]:
    """Tickets accepted in the month (Europe/Warsaw), grouped by the plan they were filed under."""
    start, end = month_bounds(period)
    stmt = select(Ticket).where(Ticket.accepted_at >= start, Ticket.accepted_at < end).order_by(Ticket.id)
    rows: dict[str, dict[str, Any]] = {}
    reactions: dict[str, list[float]] = {}
    for ticket in (await tickets.session.execute(stmt)).scalars():
        plan = ticket.policy["plan_id"]
        row = rows.setdefault(plan, {"plan_id": plan, "contractual": bool(ticket.policy["reaction"].get(
            "contractual", True)), "tickets": 0, "met": 0, "breached": 0, "excused": 0, "pending": 0,
            "median_reaction_business_minutes": None})
        row["tickets"] += 1
        if ticket.sla_breached_at is not None:
            row["excused" if ticket.sla_excused else "breached"] += 1
        elif ticket.first_response_at is not None:
            row["met"] += 1
        else:
            row["pending"] += 1
        if ticket.first_response_at is not None:
            pauses = await tickets.pause_intervals(ticket)
            reactions.setdefault(plan, []).append(
                minutes_used(ticket.policy, ticket.accepted_at, ticket.first_response_at, pauses))
    for plan, values in reactions.items():
        rows[plan]["median_reaction_business_minutes"] = round(median(values), 1)
    return sorted(rows.values(), key=lambda r: r["plan_id"])
