"""Two replicas of every service, each batch job started on both at once (scans and runs sent
through the round-robin, several at a time): each SLA warning and breach raised once (R-T4,
R-T5), each late payer flagged once (R-B5, R-B6), and each event delivered once to the CRM's
webhook endpoint, whichever replica's relay and dispatcher took it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.e2e import steps
from tests.e2e.harness import CARD_NO_FUNDS, Platform, until
from tests.support.crm import WebhookReceiver

CONCURRENT = 6  # requests of each batch job in flight at once, spread over both replicas
TICKETS = 12


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _endpoint(p: Platform, crm: WebhookReceiver, service: str, hook: str, events: list[str]) -> str:
    """Registers the CRM's webhook endpoint for `events` on `service`; its signing secret."""
    registered = await p.client(service, "crm", sub="replica-crm").post(
        "/v1/webhook-endpoints", headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"url": crm.url(hook), "events": events, "description": "replicas: the CRM"})
    assert registered.status_code == 201, registered.text
    return registered.json()["secret"]


def _deliveries(crm: WebhookReceiver, hook: str, secret: str) -> dict[tuple[str, str], set[str]]:
    """(event type, subject) → the webhook ids that reached `/hooks/<hook>`, each verified."""
    seen: dict[tuple[str, str], set[str]] = {}
    for name, body, headers in crm.received:
        if name == hook:
            Webhook(secret).verify(body, headers)
            payload = json.loads(body)
            seen.setdefault((payload["type"], payload["subject"]), set()).add(headers["webhook-id"])
    return seen


async def _delivered_once(crm: WebhookReceiver, hook: str, secret: str, wanted: set[tuple[str, str]],
                          what: str) -> None:
    """Each (event type, subject) in `wanted` reaches `/hooks/<hook>` and does so as one event."""
    async def all_delivered():  # type: ignore[no-untyped-def]
        seen = _deliveries(crm, hook, secret)
        return seen if wanted <= set(seen) else None
    await until(all_delivered, f"{what} at the CRM's endpoint", timeout=60)
    await asyncio.sleep(1.0)  # a second delivery by the other replica's dispatcher would arrive by now
    twice = {key: ids for key, ids in _deliveries(crm, hook, secret).items() if key in wanted and len(ids) > 1}
    assert twice == {}, "an event delivered as two events"


async def _all_at_once(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    answers = await asyncio.gather(*(client.post(path, json=body, timeout=120) for _ in range(CONCURRENT)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    return [a.json() for a in answers]


def _each_once(lists: list[list[str]], expected: set[str], what: str) -> None:
    counts = Counter(item for items in lists for item in items)
    twice = {item: n for item, n in counts.items() if n > 1}
    assert not twice, f"{what} raised more than once: {twice}"
    assert expected <= set(counts), f"{what} never raised for {sorted(expected - set(counts))}"


async def test_each_sla_warning_and_breach_is_raised_and_delivered_once_by_concurrent_scans_R_T4_R_T5(
        replicated: Platform, crm: WebhookReceiver):
    p = replicated
    customer = f"cust-rep-sla-{uuid.uuid4().hex[:6]}"
    bought = await steps.buy(p, customer)
    await steps.status(p, bought["id"], "active", timeout=60)
    hook = f"sla-{uuid.uuid4().hex[:6]}"
    secret = await _endpoint(p, crm, "tickets", hook, ["ticket.sla_warning", "ticket.sla_breached"])
    filed = await asyncio.gather(*(steps.file_ticket(p, customer, f"user{k}@{customer}.example",
                                                     f"Mailbox {k} does not sync") for k in range(TICKETS)))
    ids = {t["id"] for t in filed}
    terms = steps.plan_terms("o365-standard")
    calendar, target = steps.calendar_of("o365-standard"), terms["reaction"]["target_minutes"]
    # one business minute before the earliest deadline: every ticket past 75 % of its target, hours open
    warn_at = min(calendar.add(_at(t["accepted_at"]), target - 1) for t in filed)
    breach_at = max(_at(t["sla"]["reaction_due_at"]) for t in filed) + timedelta(minutes=1)
    supervisor = p.client("tickets", "admin")

    warned = await _all_at_once(supervisor, "/v1/sla/scan", {"as_of": warn_at.isoformat()})
    _each_once([w["warned"] for w in warned], ids, "a warning")
    breached = await _all_at_once(supervisor, "/v1/sla/scan", {"as_of": breach_at.isoformat()})
    _each_once([b["breached"] for b in breached], ids, "a breach")
    again = await _all_at_once(supervisor, "/v1/sla/scan", {"as_of": breach_at.isoformat()})
    assert not any(set(a["warned"] + a["breached"]) & ids for a in again), "a ticket judged twice"
    assert {t["id"] for t in await steps.tickets_of(p, customer) if t["sla"]["state"] == "breached"} == ids

    wanted = {(kind, t) for t in ids for kind in ("ticket.sla_warning", "ticket.sla_breached")}
    await _delivered_once(crm, hook, secret, wanted, "every warning and breach")
    for ticket_id in ids:  # and recorded once in each ticket's history
        history = [h["kind"] for h in (await p.client("tickets", "agent").get(
            f"/v1/tickets/{ticket_id}/history")).json()]
        assert (history.count("sla_warning"), history.count("sla_breached")) == (1, 1), history


async def test_each_late_payer_is_flagged_and_notified_once_by_concurrent_dunning_runs_R_B5_R_B6(
        replicated: Platform, crm: WebhookReceiver):
    p = replicated
    hook = f"dunning-{uuid.uuid4().hex[:6]}"
    secret = await _endpoint(p, crm, "billing", hook, ["contract.payment_overdue", "contract.terminable"])
    customers = [f"cust-rep-late-{uuid.uuid4().hex[:6]}" for _ in range(6)]
    bought = await asyncio.gather(*(steps.buy(p, c, instrument=CARD_NO_FUNDS) for c in customers))
    contracts, due = {c["id"] for c in bought}, []
    for contract in bought:  # the first charge is refused: the first invoice stays unpaid (R-B5)
        first = await steps.invoice_where(p, contract["id"], lambda i: i["purpose"] == "first", "the first invoice")
        charge = await steps.settled_charge(p, first["id"])
        assert charge["status"] == "failed", charge
        await steps.billing_heard(p, charge)
        due.append(date.fromisoformat(first["due_date"]))
    now = datetime.now(timezone.utc)
    # more than 7 days past the latest due date, at noon in Warsaw (R-B6)
    terminable_at = datetime.combine(max(due) + timedelta(days=8), time(11), timezone.utc)
    admin = p.client("billing", "admin")

    overdue = await _all_at_once(admin, "/v1/dunning-runs", {"as_of": now.isoformat()})
    _each_once([run["overdue"] for run in overdue], contracts, "an overdue notice")
    late = await _all_at_once(admin, "/v1/dunning-runs", {"as_of": terminable_at.isoformat()})
    _each_once([run["terminable"] for run in late], contracts, "a terminable notice")
    again = await _all_at_once(admin, "/v1/dunning-runs", {"as_of": terminable_at.isoformat()})
    assert not any(set(run["overdue"] + run["terminable"]) & contracts for run in again), "a contract flagged twice"

    wanted = {(kind, c) for c in contracts for kind in ("contract.payment_overdue", "contract.terminable")}
    await _delivered_once(crm, hook, secret, wanted, "every dunning notice")
    for contract_id in contracts:  # entitlements applied each once: marked terminable once
        history = [h["action"] for h in await steps.history(p, contract_id)]
        assert history.count("created") == 1 and "suspend" not in history, history  # never active: nothing to suspend
