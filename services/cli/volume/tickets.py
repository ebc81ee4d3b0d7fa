"""`supportctl volume tickets`: a large reseller's tickets with their history loaded fast
(PostgreSQL COPY), for the tickets scale bench (bench/tickets_scale.py) and for trying the agent
queue and the SLA scan at volume.

Shaped like real data, as of `LOADED_AT` (Friday 20 Nov 2026, 13:00 in Warsaw, inside every
plan's hours): customers `cust-vol-{c}` with contract `ctr_vol{c:012d}` (as `volume billing`
loads them), ten tickets per customer on average, on the Office 365 plans in a reseller's mix by
customer (60 % Standard, 30 % Advanced with a TAM, 10 % Free); the policy snapshot each ticket keeps
is the catalogue's plan (services/entitlements/data/catalogue.yaml), the due times are the
service's own (`due_times`, `warning_at` on the plan's calendar).

Most tickets are history: accepted over the past year, answered by an agent before their warning
instant (so never warned or breached: a simplification), resolved, and closed once the 14-day
reopen window is over (resolved, not closed, inside it); of the last fortnight's, some are still
open after the first answer and some wait for the customer (R-T2: an open pause, no clock). Each
has the messages and history entries the service writes on that path (created, first_response,
status_changed, message, ...).

`awaiting` tickets are open and await a first reaction (status `new`): accepted in the half hour
before `LOADED_AT`, so no warning is due yet, with `sla_next_check_at` the earlier of the warning
instant and the deadline, exactly as filing stores it (service/filing.py). Standard and Advanced
ones are due for their warning (75 % of 240 business minutes) between 15:30 and 16:00 that Friday
and breach from 16:30 (Advanced) or Monday morning (Standard); Free ones (1,440 round-the-clock
minutes on business days) are due on Monday 23 Nov, at 06:30–07:00, before the hours open (so the
scan raises their warning at 08:30), and exceed their estimate from 12:30.

Ids are numbered in acceptance order (`tkt_vol…`, time-ordered like the platform's own). Loads
into a migrated tickets database; nothing else is touched.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Optional, cast

import orjson
import typer

from services.cli.volume.app import Rows, asyncpg_dsn, copy_in_batches, volume_app

LOADED_AT = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)  # Fri 13:00 Europe/Warsaw
AWAITING_SPREAD = timedelta(minutes=30)  # awaiting tickets were accepted in this stretch before LOADED_AT
PRODUCT = "office365-support"
PLAN_BY_TENTH = ("o365-standard",) * 6 + ("o365-advanced",) * 3 + ("o365-free",)  # by customer number % 10
TICKETS_PER_CUSTOMER = 10
WARNING_RATIO = 0.75  # the service's default `sla_warning_ratio`
REOPEN_DAYS = 14  # the service's default `reopen_days`
CATEGORIES = (("basic_config_help", 35), ("documented_solutions", 20), ("licence_validity_info", 15),
              ("remote_diagnostics", 15), ("other", 10), ("mailbox_migration", 5))  # the last is out of scope (R-T7)
PROBLEMS = ("Outlook stops syncing the shared mailbox", "Teams calls drop after five minutes",
            "OneDrive asks for the password every morning", "A new user cannot activate Office",
            "Licence shows as expired in the admin centre", "SharePoint site returns access denied")
AGENTS = 40

TICKET_COLUMNS = ("id", "customer_id", "product_id", "licence_reference", "subject", "description", "category",
                  "channel", "contact", "status", "priority", "out_of_scope", "scope_note", "policy", "assignee",
                  "accepted_at", "reaction_due_at", "limit_due_at", "first_response_at", "sla_warned_at",
                  "sla_breached_at", "sla_next_check_at", "sla_excused", "resolved_at", "closed_at", "updated_at",
                  "queue_key")
PAUSE_COLUMNS = ("ticket_id", "started_at", "ended_at")
MESSAGE_COLUMNS = ("id", "ticket_id", "at", "author", "author_kind", "visibility", "body", "channel")
EVENT_COLUMNS = ("ticket_id", "at", "kind", "actor", "data")
CONTACT_COLUMNS = ("email", "customer_id", "product", "name", "source", "created_at", "updated_at")
TABLES = {"ticket": TICKET_COLUMNS, "ticket_pause": PAUSE_COLUMNS, "ticket_message": MESSAGE_COLUMNS,
          "ticket_event": EVENT_COLUMNS, "customer_contact": CONTACT_COLUMNS}


def customer_of(n: int, tickets: int) -> int:
    """The customer of ticket n: tickets dealt round-robin over tickets/10 customers."""
    return n % max(1, tickets // TICKETS_PER_CUSTOMER)


def plan_of(customer: int) -> str:
    return PLAN_BY_TENTH[customer % 10]


def _plans() -> dict[str, dict[str, Any]]:
    from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file

    product = next(p for p in read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json")["products"]
                   if p["id"] == PRODUCT)
    return {p["id"]: p for p in product["plans"]}


def policy_of(plan: dict[str, Any], customer: int) -> dict[str, Any]:
    """The snapshot a ticket keeps (service/policy.py `snapshot`) of the customer's contract."""
    tam = ({"name": f"Opiekun {customer % 25}", "email": f"tam{customer % 25}@reseller.example"}
           if "tam" in plan["benefits"] else None)  # R-T8: Advanced contracts have a named TAM
    return {"plan_id": plan["id"], "plan_version": 1, "plan_name": plan["name"], "plan_rank": plan["rank"],
            "source": "contract", "contract_id": f"ctr_vol{customer:012d}", "contract_status": "active",
            "licence": f"lic-vol-{customer}", "benefits": plan["benefits"],
            "excluded_categories": plan["excluded_categories"], "support_hours": plan["support_hours"],
            "reaction": plan["reaction"], "priority": plan["priority"], "tam": tam}


class _Batch:
    """The rows of one batch of tickets, built ticket by ticket."""

    def __init__(self) -> None:
        self.tickets: Rows = []
        self.pauses: Rows = []
        self.messages: Rows = []
        self.events: Rows = []
        self.contacts: Rows = []

    def event(self, ticket_id: str, at: datetime, kind: str, actor: str, data: dict[str, Any]) -> None:
        self.events.append((ticket_id, at, kind, actor, orjson.dumps(data).decode()))

    def message(self, ticket_id: str, seq: int, at: datetime, author: str, kind: str, body: str, channel: str) -> str:
        message_id = f"msg_vol{ticket_id[7:]}{seq}"
        self.messages.append((message_id, ticket_id, at, author, kind, "public", body, channel))
        return message_id


def _seconds(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=int(rng.uniform(low, high)))


def ticket_rows(n: int, *, tickets: int, awaiting: int, seed: int = 4242, start: int = 0,
                plans: dict[str, dict[str, Any]] | None = None) -> tuple[Rows, ...]:
    """(ticket, ticket_pause, ticket_message, ticket_event, customer_contact) rows for tickets
    start..start+n-1 of `tickets`, the last `awaiting` of which await their first reaction; in
    the database's own representation (JSON as text, aware UTC instants). Each customer's contact
    comes with its first ticket."""
    from services.tickets.service.policy import queue_priority, scope
    from services.tickets.service.queue import queue_key
    from services.tickets.service.sla import due_times
    from services.tickets.service.sla_schedule import warning_at

    plans = plans or _plans()
    rng = random.Random(seed + start)
    categories, weights = [c for c, _ in CATEGORIES], [w for _, w in CATEGORIES]
    history = tickets - awaiting
    out = _Batch()
    for k in range(start, start + n):
        customer = customer_of(k, tickets)
        policy = policy_of(plans[plan_of(customer)], customer)
        tid = f"tkt_vol{k:012d}"
        email = f"it{customer}@klient{customer}.example.pl"
        contact = {"name": f"Kontakt {customer}", "email": email, "phone": None}
        channel = rng.choice(("email", "email", "portal", "phone"))
        category = rng.choices(categories, weights)[0]
        out_of_scope, note = scope(policy, category)
        if k >= history:  # awaiting: accepted in the half hour before LOADED_AT, in id order
            accepted = LOADED_AT - AWAITING_SPREAD + AWAITING_SPREAD * (k - history) / max(1, awaiting)
            accepted = accepted.replace(microsecond=0)
        else:  # history: over the past year (oldest first), the last few in the past three days
            days = 365 - 362 * k / max(1, history)
            accepted = (LOADED_AT - timedelta(days=days) - _seconds(rng, 0, 3600)).replace(microsecond=0)
        due = due_times(policy, accepted)
        warn = warning_at(policy, accepted, (), WARNING_RATIO)
        subject = rng.choice(PROBLEMS)
        description = f"{subject} since this morning; ticket {k} of customer {customer}. Nothing changed on our side."
        author, author_kind = ("agent-0@reseller.example", "agent") if channel == "phone" else (email, "customer")
        out.message(tid, 0, accepted, author, author_kind, description, channel)
        out.event(tid, accepted, "created", author, {"plan_id": policy["plan_id"], "source": "contract",
                                                      "out_of_scope": out_of_scope,
                                                      "reaction_due_at": due.reaction_due_at.isoformat()})
        row = dict(status="new", first_response_at=None, resolved_at=None, closed_at=None, next_check=None,
                   updated_at=accepted)
        agent = f"agent-{k % AGENTS}@reseller.example"
        answer = accepted + (warn - accepted) * rng.uniform(0.1, 0.9)  # before the warning: met, never warned
        if k >= history:
            row["next_check"] = min(warn, due.reaction_due_at)  # as filing stores it
        elif days < REOPEN_DAYS and rng.random() < 0.15:  # waits for the customer's details (R-T2): no clock
            out.message(tid, 1, answer, agent, "agent", "Please send a screenshot of the error.", "api")
            out.pauses.append((tid, answer, None))
            out.event(tid, answer, "status_changed", agent, {"from": "new", "to": "awaiting_customer"})
            row.update(status="awaiting_customer", updated_at=answer)
        else:
            message_id = out.message(tid, 1, answer, agent, "agent", "Please try the steps in the attached guide.",
                                     "api")
            out.event(tid, answer, "first_response", agent, {"within_target": True})
            out.event(tid, answer, "status_changed", agent, {"from": "new", "to": "open"})
            out.event(tid, answer, "message", agent, {"message_id": message_id, "visibility": "public",
                                                      "author_kind": "agent"})
            row.update(status="open", first_response_at=answer, updated_at=answer)
            resolved = answer + _seconds(rng, 1800, 3 * 86400)
            if resolved < LOADED_AT and (days > REOPEN_DAYS or rng.random() < 0.7):
                out.event(tid, resolved, "status_changed", agent, {"from": "open", "to": "resolved", "note": None})
                row.update(status="resolved", resolved_at=resolved, updated_at=resolved)
                closed = resolved + timedelta(days=REOPEN_DAYS, hours=1)
                if closed < LOADED_AT:
                    out.event(tid, closed, "status_changed", agent, {"from": "resolved", "to": "closed"})
                    row.update(status="closed", closed_at=closed, updated_at=closed)
        tam = policy["tam"]
        view = SimpleNamespace(id=tid, priority=queue_priority(policy), status=row["status"],
                               first_response_at=row["first_response_at"], reaction_due_at=due.reaction_due_at)
        out.tickets.append((
            tid, f"cust-vol-{customer}", PRODUCT, policy["licence"], subject, description, category, channel,
            orjson.dumps(contact).decode(), row["status"], view.priority, out_of_scope, note,
            orjson.dumps(policy).decode(), tam["email"] if tam else None, accepted, due.reaction_due_at,
            due.limit_due_at, row["first_response_at"], None, None, row["next_check"], False, row["resolved_at"],
            row["closed_at"], row["updated_at"], queue_key(cast(Any, view))))
        if k < max(1, tickets // TICKETS_PER_CUSTOMER):  # the customer's first ticket leaves its contact
            out.contacts.append((email, f"cust-vol-{customer}", PRODUCT, contact["name"], "api", accepted, accepted))
    return out.tickets, out.pauses, out.messages, out.events, out.contacts


async def load_tickets(dsn: str, tickets: int, awaiting: int, *, seed: int = 4242) -> dict[str, int]:
    """COPY `tickets` tickets with their history (`awaiting` of them awaiting a first reaction)
    into the tickets database."""
    if not 0 <= awaiting <= tickets:
        raise ValueError(f"awaiting ({awaiting}) must be between 0 and tickets ({tickets})")
    plans = _plans()
    def batch(start: int, n: int) -> list[tuple[str, tuple[str, ...], Rows]]:
        rows = ticket_rows(n, tickets=tickets, awaiting=awaiting, seed=seed, start=start, plans=plans)
        return [(table, tuple(columns), table_rows) for (table, columns), table_rows in zip(TABLES.items(), rows)]

    return await copy_in_batches(dsn, tickets, batch)


@volume_app.command("tickets")
def volume_tickets(tickets: int = typer.Option(10_000, min=1, max=2_000_000, help="How many tickets."),
                   awaiting: Optional[int] = typer.Option(
                       None, min=0, help="How many await a first reaction (default 10 %, at most 100,000)."),
                   database_url: Optional[str] = typer.Option(
                       None, "--database-url", help="The tickets database (PostgreSQL; default TICKETS_DATABASE_URL)."),
                   seed: int = typer.Option(4242, help="The random seed (the same data for the same seed).")) -> None:
    """Load TICKETS tickets with their messages and history, AWAITING of them open and awaiting a
    first reaction with their SLA instants stored (COPY)."""
    from services.tickets.settings import TicketsSettings

    if awaiting is None:
        awaiting = min(tickets // 10, 100_000)
    if awaiting > tickets:
        raise typer.BadParameter(f"at most --tickets ({tickets})", param_hint="--awaiting")
    url = database_url or TicketsSettings().database_url
    counts = asyncio.run(load_tickets(asyncpg_dsn(url), tickets, awaiting, seed=seed))
    typer.echo(", ".join(f"{n} {table}" for table, n in counts.items()))
