"""An upgrade while tickets are open (docs/sla-upgrade.md): each open ticket of the upgraded
contract that has not been reacted to keeps the business time already used on the old plan and
is measured from the moment of the upgrade on the new plan's calendar against its target. A
ticket already reacted to keeps its recorded outcome; new tickets simply get the new plan."""

from __future__ import annotations

from datetime import datetime

from services.tickets.repository import tickets as repo
from services.tickets.service import policy as policies
from services.tickets.service.sla import due_times, minutes_used
from services.tickets.service.tickets import TicketService


async def apply_plan_change(tickets: TicketService, *, customer_id: str, contract_id: str, at: datetime) -> list[str]:
    """Re-times the contract's unreacted tickets as of `at` (the instant of the upgrade); returns
    their ids. Entitlements is asked afresh for each ticket's product; a ticket whose plan did not
    change (a repeated event, a ticket on another licence) is left alone."""
    changed: list[str] = []
    for ticket in await repo.unreacted_of_customer(tickets.session, customer_id):
        if ticket.policy.get("contract_id") != contract_id:
            continue
        entitlement = policies.choose_entitlement(
            await tickets.entitlements.entitlements(customer_id, ticket.product_id), ticket.licence_reference)
        new = policies.snapshot(entitlement)
        if new["contract_id"] != contract_id or (new["plan_id"], new["plan_version"]) == (
                ticket.policy["plan_id"], ticket.policy["plan_version"]):
            continue
        pauses = await tickets.pause_intervals(ticket)
        used = minutes_used(ticket.policy, ticket.accepted_at, at, pauses)  # an earlier carry-over included
        new["carried"] = {"at": at.isoformat(), "used_minutes": round(used, 3), "from_plan_id": ticket.policy["plan_id"]}
        before = ticket.policy["plan_id"]
        ticket.policy = new
        due = due_times(new, ticket.accepted_at, pauses)
        ticket.reaction_due_at, ticket.limit_due_at = due.reaction_due_at, due.limit_due_at
        ticket.priority = policies.queue_priority(new)
        await tickets.reschedule_sla(ticket, pauses)  # an earlier (or later) warning and deadline
        if ticket.assignee is None and new["tam"]:
            ticket.assignee = new["tam"].get("email")  # R-T8: Advanced tickets go to the TAM
        await tickets.record(ticket, "plan_changed", "entitlements", {
            "from_plan_id": before, "to_plan_id": new["plan_id"], "at": at.isoformat(),
            "used_minutes": new["carried"]["used_minutes"], "reaction_due_at": due.reaction_due_at.isoformat()})
        tickets.uow.events.emit("ticket.plan_changed", tickets.event_data(
            ticket, from_plan_id=before, changed_at=at.isoformat()), subject=ticket.id)
        changed.append(ticket.id)
    return changed
