"""What each documented block is said to do, checked against what it printed and what the platform
then holds. One expectation per block that runs, found by a piece of the block's text (`marker`);
`claim` says, in the document's words, what the reader is told will happen."""

from __future__ import annotations

import email
import json
import re
import stat
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable

from tests.docs.blocks import Block
from tests.docs.machine import Ran


@dataclass(frozen=True)
class Expectation:
    source: str
    marker: str
    claim: str
    check: Callable[[Ran], None]


EXPECTATIONS: list[Expectation] = []


def expect(source: str, marker: str, claim: str) -> Callable[[Callable[[Ran], None]], Callable[[Ran], None]]:
    def register(check: Callable[[Ran], None]) -> Callable[[Ran], None]:
        EXPECTATIONS.append(Expectation(source, marker, claim, check))
        return check
    return register


def expectations_for(block: Block) -> list[Expectation]:
    return [e for e in EXPECTATIONS if e.source == block.source and e.marker in block.code]


# ---- reading what a block printed ------------------------------------------------------------------

def json_documents(text: str) -> list[Any]:
    """The JSON values printed one after the other (curl prints bodies without a newline between)."""
    decoder, found, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i] in "[{":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                i += 1
                continue
            found.append(value)
            i = end
        else:
            i += 1
    return found


def quiet(ran: Ran) -> None:
    """Every command succeeded and none complained."""
    assert ran.returncode == 0, f"exit status {ran.returncode}"
    assert ran.stderr == "", "something was written to stderr"


def _contracts(ran: Ran, customer_id: str) -> list[dict[str, Any]]:
    with ran.machine.api("entitlements") as api:
        answer = api.get("/v1/contracts", params={"customer_id": customer_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _one(items: list[Any], what: str) -> Any:
    assert len(items) == 1, f"expected one {what}, found {len(items)}: {items}"
    return items[0]


# ---- README.md ---------------------------------------------------------------------------------------

@expect("README.md", "8001/v1/purchases",
        "lists the catalogue, then buys o365-standard for cust-1001: the answer is the new contract, pending_payment")
def readme_purchase(ran: Ran) -> None:
    quiet(ran)
    products, contract = json_documents(ran.stdout)
    assert any(pl["id"] == "o365-standard" for p in products for pl in p["plans"]), products
    assert (contract["customer_id"], contract["plan_id"], contract["status"]) == (
        "cust-1001", "o365-standard", "pending_payment"), contract
    assert contract["billing"]["payment_instrument"] == "4242424242424242"


@expect("README.md", "status=active",
        "a few seconds later the invoice is paid, the contract is active and the customer has the plan")
def readme_active(ran: Ran) -> None:
    quiet(ran)
    (found,) = json_documents(ran.stdout)
    assert [(e["product_id"], e["plan"]["id"], e["source"], e["status"]) for e in found["entitlements"]] == [
        ("office365-support", "o365-standard", "contract", "active")], found
    assert [c["status"] for c in _contracts(ran, "cust-1001")] == ["active"]


def _mail(ran: Ran, listed: str) -> Message:
    return email.message_from_bytes((ran.machine.checkout / listed).read_bytes())


@expect("README.md", 'smtplib.SMTP("127.0.0.1", 2525)',
        "the mail of a known contact becomes a ticket, and its acknowledgement lands in var/mail/")
def readme_mail(ran: Ran) -> None:
    quiet(ran)
    contact = json_documents(ran.stdout)[0]
    assert (contact["email"], contact["customer_id"], contact["source"]) == ("anna@contoso.pl", "cust-1001", "crm")
    listed = re.findall(r"var/mail/[^\s/]+\.eml", ran.stdout)
    acks = [m for m in map(lambda f: _mail(ran, f), listed)
            if m["To"] == "anna@contoso.pl" and re.search(r"^Teams calls drop \[#(tkt_\w+)\]$", m["Subject"] or "")]
    ack = _one(acks, "acknowledgement listed in var/mail/")
    ticket_id = re.search(r"\[#(tkt_\w+)\]", ack["Subject"]).group(1)
    with ran.machine.api("tickets") as api:
        ticket = api.get(f"/v1/tickets/{ticket_id}").json()
    assert (ticket["customer_id"], ticket["channel"], ticket["plan"]["plan_id"]) == (
        "cust-1001", "email", "o365-standard"), ticket


# ---- docs/guides/shop-checkout.md ----------------------------------------------------------------------

SHOP_GUIDE = "docs/guides/shop-checkout.md"


@expect(SHOP_GUIDE, "KEY=$(python3",
        "the purchase answers 201 with the contract, pending_payment, for a customer and licence of its own")
def shop_purchase(ran: Ran) -> None:
    quiet(ran)
    (contract,) = json_documents(ran.stdout)
    assert (contract["customer_id"], contract["licence"]["reference"], contract["status"], contract["order_ref"]) == (
        "cust-1002", "fabrikam.onmicrosoft.com", "pending_payment", "ORD-2026-000123"), contract
    assert contract["billing"]["payment_instrument"] == "4242424242424242"


@expect(SHOP_GUIDE, "grep -i -e '^HTTP/'",
        "the same order under the same key gives the first contract back, with Idempotent-Replayed: true")
def shop_replay(ran: Ran) -> None:
    quiet(ran)
    lines = [line.strip().lower() for line in ran.stdout.splitlines()]
    assert lines == ["http/1.1 201 created", "idempotent-replayed: true"], lines
    _one(_contracts(ran, "cust-1002"), "contract of cust-1002")


@expect(SHOP_GUIDE, "HTTP %{http_code}", "the same order under a new key is 409 contract_exists")
def shop_conflict(ran: Ran) -> None:
    quiet(ran)
    (error,) = json_documents(ran.stdout)
    assert error["error"] == "contract_exists", error
    assert ran.stdout.rstrip().splitlines()[-1] == "HTTP 409"
    _one(_contracts(ran, "cust-1002"), "contract of cust-1002")


@expect(SHOP_GUIDE, "CONTRACT=$(curl", "the contract turns active; its first invoice is paid")
def shop_active_and_invoiced(ran: Ran) -> None:
    quiet(ran)
    contract = _one(_contracts(ran, "cust-1002"), "contract of cust-1002")
    assert contract["status"] == "active", contract
    (page,) = json_documents(ran.stdout)
    first = _one(page["items"], "invoice")
    assert (first["contract_id"], first["purpose"], first["status"]) == (contract["id"], "first", "paid"), first


# ---- examples/checkout.py ------------------------------------------------------------------------------

@expect("examples/checkout.py", "checkout.py catalogue",
        "the catalogue; an add-on bought, replayed and active with a paid first invoice; a standalone plan for a "
        "registered licence; a declined card: still pending_payment, exit status 2")
def checkout_example(ran: Ran) -> None:
    out, err = ran.stdout, ran.stderr
    assert ran.returncode == 2, f"exit status {ran.returncode} (the declined card's wait ends with 2)"
    assert re.search(r"^office365-support\s+o365-standard\s+\d+\.\d\d PLN/month net", out, re.M), out
    bought = {}
    for customer, plan, licence in (("cust-2001", "o365-standard", "office365/northwind.onmicrosoft.com"),
                                    ("cust-2002", "sage-warranty-komfort", "sage/sage-123456"),
                                    ("cust-2003", "o365-standard", "office365/adatum.onmicrosoft.com")):
        found = re.search(rf"^contract (ctr_\w+): {plan} for {licence}, pending_payment", out, re.M)
        assert found, f"no purchase of {plan} for {licence}:\n{out}"
        bought[customer] = contract = found.group(1)
        assert f"retry with the same key: contract {contract} (replayed: True)" in out
    for customer in ("cust-2001", "cust-2002"):
        assert f"contract {bought[customer]} is active since " in out
    assert len(re.findall(r"^invoice FV/\d{4}/\d{2}/\d{6} \(first, paid\)", out, re.M)) == 2, out
    assert re.search(r"^licence lic_\w+ registered for cust-2002$", out, re.M), out
    assert f"timeout: contract {bought['cust-2003']} is still pending_payment" in err, err
    assert "hint: the first invoice is not paid yet" in err
    assert "HTTP 4" not in err, err
    assert [c["status"] for c in _contracts(ran, "cust-2003")] == ["pending_payment"]


# ---- docs/guides/crm.md ---------------------------------------------------------------------------------

@expect("docs/guides/crm.md", "8002/v1/tickets",
        "files a ticket for cust-1001 on its plan, with the reaction deadline in the answer")
def crm_ticket(ran: Ran) -> None:
    quiet(ran)
    (ticket,) = json_documents(ran.stdout)
    assert (ticket["customer_id"], ticket["status"], ticket["plan"]["plan_id"], ticket["plan"]["source"]) == (
        "cust-1001", "new", "o365-standard", "contract"), ticket
    assert ticket["sla"]["reaction_due_at"] and ticket["out_of_scope"] is False, ticket


# ---- docs/guides/operators.md ---------------------------------------------------------------------------

@expect("docs/guides/operators.md", "supportctl billing reprice",
        "the repair after an upgrade: shows what it would issue, then writes it; a platform with no contract "
        "upgraded before the price schedule has nothing to repair")
def reprice(ran: Ran) -> None:
    assert ran.returncode == 0, ran.stderr
    summaries = re.findall(r"^(\d+) contracts repriced, (\d+) documents (would be issued|issued)", ran.stderr, re.M)
    assert summaries == [("0", "0", "would be issued"), ("0", "0", "issued")], ran.stderr


# ---- examples/crm_sync.py -------------------------------------------------------------------------------

@expect("examples/crm_sync.py", "crm_sync.py serve",
        "the receiver runs; an endpoint on each service; a contact; a ticket filed and listed; the receiver "
        "prints the verified ticket.created")
def crm_sync_example(ran: Ran) -> None:
    quiet(ran)
    out = ran.stdout
    assert "receiving on http://127.0.0.1:9000/hooks/<service>" in out, out
    for service in ("tickets", "billing", "entitlements"):
        assert re.search(rf"^{service}\s+whe_\w+\s+http://127\.0\.0\.1:9000/hooks/{service}\s", out, re.M), out
    secrets = ran.machine.data / "crm-webhooks.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600 and len(json.loads(secrets.read_text())) == 3
    assert "anna@contoso.pl writes for cust-1001 about office365-support (crm)" in out
    filed = re.search(r"^ticket (tkt_\w+) on plan o365-standard: reaction due \S+", out, re.M)
    assert filed, out
    ticket_id = filed.group(1)
    assert re.search(rf"^{ticket_id}\s+new\s", out, re.M), "the filed ticket is listed"
    ran.eventually(lambda: re.search(rf"^\[tickets\] ticket\.created\s+evt_\w+\s+{ticket_id}", ran.stdout, re.M),
                   "the receiver to print the verified ticket.created")
