"""Force majeure (R-T6) and security pauses (R-T10): declared with start, end and description.
Breaches whose deadline falls inside a window are excused, not erased; the customers with open
tickets on the affected products are told, with the expected duration (`outage.declared`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.tickets.models import OutageWindow, Ticket
from services.tickets.service.tickets import TicketService
from shared.errors import Unprocessable
from shared.ids import new_id

OPEN = ("new", "open", "awaiting_customer")


class OutageService:
    def __init__(self, tickets: TicketService) -> None:
        self.tickets = tickets
        self.session = tickets.session

    async def declare(self, kind: str, starts_at: datetime, ends_at: datetime, description: str,
                      products: list[str], actor: str) -> tuple[OutageWindow, list[str]]:
        if ends_at <= starts_at:
            raise Unprocessable("ends_at must be after starts_at")
        window = OutageWindow(id=new_id("out"), kind=kind, starts_at=starts_at, ends_at=ends_at,
                              description=description, products=sorted(set(products)), declared_by=actor,
                              declared_at=self.tickets.now())
        self.session.add(window)
        await self.session.flush()
        excused = await self._excuse_breaches(window, actor)
        self.tickets.uow.events.emit("outage.declared", {
            "window_id": window.id, "kind": kind, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
            "expected_duration_minutes": int((ends_at - starts_at).total_seconds() // 60),
            "description": description, "products": window.products,
            "affected": await self._affected_customers(window), "excused_ticket_ids": excused}, subject=window.id)
        return window, excused

    def _affects(self, window: OutageWindow, ticket: Ticket) -> bool:
        return not window.products or ticket.product_id in window.products

    async def _excuse_breaches(self, window: OutageWindow, actor: str) -> list[str]:
        stmt = select(Ticket).where(Ticket.sla_breached_at.is_not(None), Ticket.sla_excused.is_(False),
                                    Ticket.reaction_due_at >= window.starts_at,
                                    Ticket.reaction_due_at < window.ends_at).with_for_update()
        excused = []
        for ticket in (await self.session.execute(stmt)).scalars():
            if self._affects(window, ticket):
                ticket.sla_excused = True
                await self.tickets.record(ticket, "sla_excused", actor, {"window_id": window.id, "kind": window.kind})
                excused.append(ticket.id)
        return excused

    async def _affected_customers(self, window: OutageWindow) -> list[dict[str, Any]]:
        stmt = select(Ticket).where(Ticket.status.in_(OPEN)).order_by(Ticket.customer_id, Ticket.id)
        by_customer: dict[str, dict[str, Any]] = {}
        for ticket in (await self.session.execute(stmt)).scalars():
            if self._affects(window, ticket):
                entry = by_customer.setdefault(ticket.customer_id, {
                    "customer_id": ticket.customer_id, "email": ticket.contact.get("email"), "ticket_ids": []})
                entry["ticket_ids"].append(ticket.id)
        return list(by_customer.values())

    async def listing(self) -> list[OutageWindow]:
        stmt = select(OutageWindow).order_by(OutageWindow.starts_at.desc())
        return list((await self.session.execute(stmt)).scalars())
