"""CRM integration with the support-contracts platform: a worked, runnable client and webhook receiver.

What it shows (docs/guides/crm.md explains each step):

- register a contact in the e-mail channel's directory (`PUT /v1/contacts/{email}`), so mail from that
  address opens tickets for the customer (R-T1);
- file a ticket through the API with an `Idempotency-Key` (`POST /v1/tickets`) and list the customer's
  tickets (`GET /v1/tickets?customer_id=`);
- register one webhook endpoint on each service (`POST /v1/webhook-endpoints` on tickets, billing and
  entitlements), keeping each signing secret;
- run a receiver (`serve`) that verifies every delivery's Standard Webhooks signature with the
  `standardwebhooks` package, applies each event once (by `webhook-id`) and prints it.

Run it against the platform on your machine (`make run` in the repository root). From another terminal in
the repository, start the receiver (in the background here, or in a terminal of its own without the `&`),
register it and file a ticket; the receiver prints each event it verified:

    .venv/bin/python examples/crm_sync.py serve --port 9000 --secrets var/crm-webhooks.json &
    .venv/bin/python examples/crm_sync.py register-webhooks --receiver http://127.0.0.1:9000 \\
        --secrets var/crm-webhooks.json
    .venv/bin/python examples/crm_sync.py contact anna@contoso.pl --customer-id cust-1001 \\
        --product office365-support --name "Anna Nowak"
    .venv/bin/python examples/crm_sync.py file --customer-id cust-1001 --email anna@contoso.pl \\
        --subject "Teams calls drop" \\
        --description "Since Monday every Teams call of the sales team drops after about five minutes."
    .venv/bin/python examples/crm_sync.py tickets --customer-id cust-1001

The receiver re-reads the secrets file when a delivery arrives for a service it has no secret for yet, so
the order of the first two commands does not matter. Filing a ticket needs the customer to have support for
the product: a licence is enough for Office 365 (the free plan); `cust-1001` bought Office 365 Standard in
the README's quick start. Stop the receiver with `kill %1` (or Ctrl-C in its own terminal).

URLs come from `--tickets-url`/`--billing-url`/`--entitlements-url` or `SUPPORT_TICKETS_URL`,
`SUPPORT_BILLING_URL`, `SUPPORT_ENTITLEMENTS_URL` (defaults: the ports `supportctl up` uses, 8002, 8003,
8001). The bearer token comes from `--token` or `CRM_TOKEN`
(`export CRM_TOKEN=$(.venv/bin/supportctl token --role crm)`); when neither is set, the script asks the
repository's `supportctl token --role crm` itself, in the working directory. Exit status: 0 on success,
1 when the API refused (its error code and detail are printed), 2 when the platform cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from platform_api import ApiError, checked, client, dev_token, post_idempotent  # noqa: E402 - beside this file

URLS = {"entitlements": "http://127.0.0.1:8001", "tickets": "http://127.0.0.1:8002",
        "billing": "http://127.0.0.1:8003"}
# What each service delivers to the CRM (each service sends only its own events).
CRM_EVENTS: dict[str, list[str]] = {
    "tickets": ["ticket.*", "callback.*", "complaint.*", "remote_session.*"],
    "billing": ["invoice.*", "payment.*", "contract.*"],  # contract.paid, payment_overdue, terminable, …
    "entitlements": ["contract.*"],  # contract.created, activated, suspended, upgraded, terminated, …
}
TICKET_STATUSES = ["new", "open", "awaiting_customer", "resolved", "closed"]




# ---- contacts and tickets ------------------------------------------------------------------------

def put_contact(tickets: httpx.Client, email: str, customer_id: str, product: str,
                name: str | None = None) -> dict[str, Any]:
    """Mail from `email` opens tickets for `customer_id` on `product` (R-T1). Idempotent; an entry
    the CRM sets is authoritative (`source: crm`)."""
    body: dict[str, Any] = {"customer_id": customer_id, "product": product}
    if name:
        body["name"] = name
    return checked(tickets.put(f"/v1/contacts/{quote(email, safe='@')}", json=body)).json()


def ticket_body(*, customer_id: str, product: str, subject: str, description: str, contact_email: str,
                contact_name: str, category: str = "other", licence_reference: str | None = None,
                phone: str | None = None) -> dict[str, Any]:
    """The body of `POST /v1/tickets` (schema `TicketIn`). `category` is a benefit key of the plan
    (e.g. `basic_config_help`), an excluded category, or `other`; anything outside the plan is
    accepted and flagged `out_of_scope` (R-T7). `description`: at least 20 characters (R-T1)."""
    contact: dict[str, Any] = {"name": contact_name, "email": contact_email}
    if phone:
        contact["phone"] = phone
    body: dict[str, Any] = {"customer_id": customer_id, "product": product, "subject": subject,
                            "description": description, "category": category, "channel": "api",
                            "contact": contact}
    if licence_reference:
        body["licence_reference"] = licence_reference
    return body


def file_ticket(tickets: httpx.Client, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
    """Files a ticket; the answer carries the plan snapshot and `sla.reaction_due_at`."""
    return post_idempotent(tickets, "/v1/tickets", body, idempotency_key or str(uuid.uuid4()))[0].json()


def customer_tickets(tickets: httpx.Client, customer_id: str,
                     statuses: list[str] | None = None) -> list[dict[str, Any]]:
    """The customer's tickets in queue order, all pages. Without `status` the API lists the open
    ones only (new, open, awaiting_customer); this asks for every status by default."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: list[tuple[str, str]] = [("customer_id", customer_id)]
        params += [("status", s) for s in (statuses or TICKET_STATUSES)]
        if cursor:
            params.append(("cursor", cursor))
        page = checked(tickets.get("/v1/tickets", params=params)).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


# ---- webhook endpoints ---------------------------------------------------------------------------

def register_webhook_endpoint(api: httpx.Client, url: str, events: list[str], description: str | None = None,
                              idempotency_key: str | None = None) -> dict[str, Any]:
    """`POST /v1/webhook-endpoints` on one service. The answer's `secret` (`whsec_…`) is shown
    only here and by rotate-secret: keep it."""
    body: dict[str, Any] = {"url": url, "events": events}
    if description:
        body["description"] = description
    return post_idempotent(api, "/v1/webhook-endpoints", body, idempotency_key or str(uuid.uuid4()))[0].json()


def register_crm_webhooks(clients: dict[str, httpx.Client], receiver_base: str,
                          events: dict[str, list[str]] | None = None) -> dict[str, dict[str, Any]]:
    """One endpoint per service, each on its own path of the receiver (`/hooks/<service>`), so the
    receiver knows which secret verifies a delivery. Returns {service: {id, url, path, secret}}."""
    registered: dict[str, dict[str, Any]] = {}
    for service, api in clients.items():
        path = f"/hooks/{service}"
        endpoint = register_webhook_endpoint(api, receiver_base.rstrip("/") + path,
                                             (events or CRM_EVENTS)[service], f"CRM: {service} events")
        registered[service] = {"id": endpoint["id"], "url": endpoint["url"], "path": path,
                               "events": endpoint["events"], "secret": endpoint["secret"]}
    return registered


def save_secrets(path: Path, registered: dict[str, dict[str, Any]]) -> None:
    """Merges the registered endpoints into a JSON file readable by its owner only."""
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(registered)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def load_secrets(path: Path) -> dict[str, str]:
    """{receiver path: secret} from the secrets file (missing file: none yet)."""
    if not path.exists():
        return {}
    return {entry["path"]: entry["secret"] for entry in json.loads(path.read_text()).values()}


# ---- the receiver --------------------------------------------------------------------------------

@dataclass
class Receiver:
    """Verifies and applies webhook deliveries; independent of any HTTP server, so it can be
    mounted anywhere. `secrets` maps a path (`/hooks/tickets`) to that endpoint's secret."""

    secrets: dict[str, str]
    on_event: Callable[[str, dict[str, Any]], None] = lambda service, event: None
    reload: Callable[[], dict[str, str]] | None = None  # where to look for secrets registered later
    seen: set[str] = field(default_factory=set)  # webhook-ids applied (a CRM keeps these in its database)
    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """(status, reason) for one delivery: 2xx tells the platform it is delivered, anything
        else makes it retry later with the same webhook-id."""
        secret = self.secrets.get(path)
        if secret is None and self.reload is not None:
            self.secrets = self.reload()
            secret = self.secrets.get(path)
        if secret is None:
            return 404, f"no endpoint registered at {path}"
        try:
            # The exact bytes received: re-serialised JSON would not match the signature.
            event = Webhook(secret).verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:  # ValueError: a malformed signature header
            return 401, f"signature rejected: {exc}"
        webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self._lock:  # apply each event once: a retry or a replay repeats the webhook-id
            if webhook_id in self.seen:
                return 200, "duplicate"
            self.on_event(path.rsplit("/", 1)[-1], event)  # the effect first …
            self.seen.add(webhook_id)  # … then remember it (a real CRM: one transaction for both)
            self.events.append(event)
        return 204, "applied"


def describe(service: str, event: dict[str, Any]) -> str:
    """One line per event: its type, id, what it is about."""
    data = event.get("data", {})
    kind = event["type"].split(".", 1)[0]
    what = data.get(f"{kind}_id") or event.get("subject") or ""  # ticket_id, contract_id, invoice_id, …
    extra = data.get("subject") or data.get("number") or data.get("status") or ""
    return f"[{service}] {event['type']:<28} {event['id']}  {what}  {extra}".rstrip()


def make_server(receiver: Receiver, host: str = "127.0.0.1", port: int = 9000) -> ThreadingHTTPServer:
    """A stdlib HTTP server around `receiver` (port 0: any free port, see `server_address`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            status, reason = receiver.handle(self.path, dict(self.headers.items()), body)
            payload = json.dumps({"outcome": reason}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: events are printed
            pass

    return ThreadingHTTPServer((host, port), Handler)


# ---- command line --------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for service, url in URLS.items():
        parser.add_argument(f"--{service}-url", default=os.environ.get(f"SUPPORT_{service.upper()}_URL", url))
    parser.add_argument("--token", default=os.environ.get("CRM_TOKEN"), help="bearer token (default $CRM_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True)

    contact = sub.add_parser("contact", help="register who writes for which customer and product")
    contact.add_argument("email")
    contact.add_argument("--customer-id", required=True)
    contact.add_argument("--product", default="office365-support")
    contact.add_argument("--name", default=None)

    file_ = sub.add_parser("file", help="file a ticket through the API")
    file_.add_argument("--customer-id", required=True)
    file_.add_argument("--product", default="office365-support")
    file_.add_argument("--email", required=True, help="the contact's e-mail")
    file_.add_argument("--name", default="CRM contact")
    file_.add_argument("--subject", required=True)
    file_.add_argument("--description", required=True)
    file_.add_argument("--category", default="other")
    file_.add_argument("--idempotency-key", default=None, help="default: a new UUID")

    listing = sub.add_parser("tickets", help="list a customer's tickets")
    listing.add_argument("--customer-id", required=True)
    listing.add_argument("--status", action="append", choices=TICKET_STATUSES, help="repeatable; default all")

    register = sub.add_parser("register-webhooks", help="register the receiver on tickets, billing and entitlements")
    register.add_argument("--receiver", required=True, help="the receiver's base URL, e.g. http://127.0.0.1:9000")
    register.add_argument("--secrets", type=Path, default=Path("var/crm-webhooks.json"))

    serve = sub.add_parser("serve", help="receive, verify and print webhook deliveries")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9000)
    serve.add_argument("--secrets", type=Path, default=Path("var/crm-webhooks.json"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        receiver = Receiver(load_secrets(args.secrets), reload=lambda: load_secrets(args.secrets),
                            on_event=lambda service, event: print(describe(service, event), flush=True))
        server = make_server(receiver, args.host, args.port)
        print(f"receiving on http://{args.host}:{server.server_address[1]}/hooks/<service> "
              f"(secrets: {args.secrets}); Ctrl-C stops", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return 0

    token = args.token or dev_token("crm")
    urls = {s: getattr(args, f"{s}_url") for s in URLS}
    clients = {s: client(u, token) for s, u in urls.items()}
    try:
        if args.command == "contact":
            found = put_contact(clients["tickets"], args.email, args.customer_id, args.product, args.name)
            print(f"{found['email']} writes for {found['customer_id']} about {found['product']} ({found['source']})")
        elif args.command == "file":
            body = ticket_body(customer_id=args.customer_id, product=args.product, subject=args.subject,
                               description=args.description, contact_email=args.email, contact_name=args.name,
                               category=args.category)
            ticket = file_ticket(clients["tickets"], body, args.idempotency_key)
            scope = " (out of scope)" if ticket["out_of_scope"] else ""
            print(f"ticket {ticket['id']} on plan {ticket['plan']['plan_id']}{scope}: reaction due "
                  f"{ticket['sla']['reaction_due_at']}")
        elif args.command == "tickets":
            for t in customer_tickets(clients["tickets"], args.customer_id, args.status):
                print(f"{t['id']}  {t['status']:<17} {t['sla']['state']:<8} due {t['sla']['reaction_due_at']}  "
                      f"{t['subject']}")
        elif args.command == "register-webhooks":
            registered = register_crm_webhooks(clients, args.receiver)
            save_secrets(args.secrets, registered)
            for service, entry in registered.items():
                print(f"{service:<13} {entry['id']}  {entry['url']}  {', '.join(entry['events'])}")
            print(f"secrets saved in {args.secrets}")
    except ApiError as exc:
        print(exc, file=sys.stderr)
        return 1
    except httpx.TransportError as exc:
        print(f"cannot reach the platform ({exc!r}); is `make run` running?", file=sys.stderr)
        return 2
    finally:
        for c in clients.values():
            c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
