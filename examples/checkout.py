"""E-shop checkout against the support-contracts platform: a worked, runnable client.

What it shows (docs/guides/shop-checkout.md explains each step):

- browse the catalogue (`GET /v1/products`, `GET /v1/plans/{id}`);
- buy a support plan as a checkout **add-on** together with the licence (R-E2), with an
  `Idempotency-Key`, and send the same request again under the same key, as a shop does after a
  lost response: the platform answers with the first contract (`Idempotent-Replayed: true`);
- poll the contract until billing has charged the first invoice and entitlements activated it;
- show the first invoice (R-B11: the rest of the start month);
- buy **standalone** support for a licence the customer already holds (R-E2).

Run it against the platform on your machine (`make run` in the repository root), from another
terminal in the repository (each line buys for a customer and a licence of its own):

    .venv/bin/python examples/checkout.py catalogue
    .venv/bin/python examples/checkout.py addon --customer-id cust-2001 --licence northwind.onmicrosoft.com
    .venv/bin/python examples/checkout.py standalone --customer-id cust-2002 --licence sage-123456 \\
        --plan sage-warranty-komfort --register-licence
    .venv/bin/python examples/checkout.py addon --customer-id cust-2003 --licence adatum.onmicrosoft.com \\
        --card 4000000000009995 --timeout 3   # declined by the sandbox: still pending_payment, exit status 2

URLs come from `--entitlements-url`/`--billing-url` or `SUPPORT_ENTITLEMENTS_URL`/`SUPPORT_BILLING_URL`
(defaults: the ports `supportctl up` uses, 8001 and 8003). The bearer token comes from `--token` or
`SHOP_TOKEN` (`export SHOP_TOKEN=$(.venv/bin/supportctl token --role shop)`); when neither is set, the
script asks the repository's `supportctl token --role shop` itself, in the working directory. Test cards
and IBANs of the payment sandbox: README.md, "Payment sandbox scenarios".

Exit status: 0 on success, 1 when the API refused (the error's code and detail are printed), 2 on a
timeout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from platform_api import ApiError, checked, client, dev_token, post_idempotent  # noqa: E402 - beside this file

ENTITLEMENTS_URL = "http://127.0.0.1:8001"
BILLING_URL = "http://127.0.0.1:8003"
SANDBOX_CARD_OK = "4242424242424242"  # the payment sandbox's card that pays (services/paysandbox/scenarios.py)




# ---- catalogue -----------------------------------------------------------------------------------

def catalogue(ent: httpx.Client) -> list[dict[str, Any]]:
    """Support products with their plans (`GET /v1/products`)."""
    return checked(ent.get("/v1/products")).json()


def plan(ent: httpx.Client, plan_id: str) -> dict[str, Any]:
    """A plan's full terms: price, benefits, support hours, reaction target (`GET /v1/plans/{id}`)."""
    return checked(ent.get(f"/v1/plans/{plan_id}")).json()


def purchasable_plans(products: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(product, plan) pairs a shop can sell: the free plans are not sold (`plan_not_purchasable`)."""
    return [(p, pl) for p in products for pl in p["plans"] if pl["purchasable"]]


# ---- purchase ------------------------------------------------------------------------------------

@dataclass
class Billing:
    name: str
    nip: str  # Polish tax id, checksum-validated (422 `invalid_nip`)
    address: str  # one line: `ul. Prosta 1, 00-001 Warszawa`
    email: str  # invoices go here
    payment_instrument: str | None = None  # the payment provider's token (sandbox: test card or IBAN)

    def as_json(self) -> dict[str, Any]:
        body = {"name": self.name, "nip": self.nip, "address": self.address, "email": self.email}
        if self.payment_instrument:
            body["payment_instrument"] = self.payment_instrument
        return body


def purchase_body(*, customer_id: str, plan_id: str, mode: str, licence_product: str, licence_reference: str,
                  term_months: int, payment_method: str, billing: Billing, order_ref: str | None = None
                  ) -> dict[str, Any]:
    """The body of `POST /v1/purchases` (schema `PurchaseIn`)."""
    body: dict[str, Any] = {
        "customer_id": customer_id, "plan_id": plan_id, "mode": mode,
        "licence": {"product": licence_product, "reference": licence_reference},
        "term_months": term_months, "payment_method": payment_method, "billing": billing.as_json(),
    }
    if order_ref:
        body["order_ref"] = order_ref
    return body


@dataclass
class Purchase:
    contract: dict[str, Any]
    replayed: bool  # the platform answered from the Idempotency-Key record (`Idempotent-Replayed: true`)
    attempts: int


def purchase(ent: httpx.Client, body: dict[str, Any], idempotency_key: str, *, attempts: int = 5,
             backoff: float = 0.5) -> Purchase:
    """`POST /v1/purchases`, retried safely: every attempt carries the SAME Idempotency-Key, so a
    retry after a timeout, a dropped connection or a 5xx can never create a second contract. A 409
    `idempotency_key_in_progress` (the first attempt is still running) is retried too. Anything
    else (4xx) is the answer: fix the request and use a NEW key."""
    response, attempt = post_idempotent(ent, "/v1/purchases", body, idempotency_key, attempts=attempts,
                                        backoff=backoff)
    return Purchase(response.json(), response.headers.get("idempotent-replayed") == "true", attempt)


def register_licence(ent: httpx.Client, customer_id: str, product: str, reference: str,
                     order_ref: str | None = None) -> dict[str, Any]:
    """Registers a licence the shop sold earlier (`POST /v1/customers/{id}/licences`); registering
    the same licence again for the same customer returns it."""
    body: dict[str, Any] = {"product": product, "reference": reference}
    if order_ref:
        body["order_ref"] = order_ref
    return checked(ent.post(f"/v1/customers/{customer_id}/licences", json=body,
                            headers={"Idempotency-Key": f"licence:{customer_id}:{product}:{reference}"})).json()


# ---- after the purchase --------------------------------------------------------------------------

FINAL = {"active", "terminated", "expired"}


def wait_for_contract(ent: httpx.Client, contract_id: str, wanted: str = "active", *, timeout: float = 60.0,
                      interval: float = 0.5) -> dict[str, Any]:
    """Polls `GET /v1/contracts/{id}` until the contract is `wanted`. A purchase is
    `pending_payment` until billing has charged the first invoice (`contract.paid`, R-B1); a
    declined card keeps it there (billing retries, see the guide). Raises TimeoutError with the
    last status seen."""
    deadline = time.monotonic() + timeout
    while True:
        contract = checked(ent.get(f"/v1/contracts/{contract_id}")).json()
        if contract["status"] == wanted or (contract["status"] in FINAL and wanted in FINAL):
            return contract
        if time.monotonic() > deadline:
            raise TimeoutError(f"contract {contract_id} is still {contract['status']} after {timeout:.0f} s")
        time.sleep(interval)


def invoices(billing: httpx.Client, contract_id: str) -> list[dict[str, Any]]:
    """A contract's invoices and credit notes (`GET /v1/invoices?contract_id=`), all pages."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"contract_id": contract_id, **({"cursor": cursor} if cursor else {})}
        page = checked(billing.get("/v1/invoices", params=params)).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def first_invoice(billing: httpx.Client, contract_id: str, *, timeout: float = 30.0,
                  interval: float = 0.5) -> dict[str, Any]:
    """The first invoice (R-B11: the rest of the start month), with its lines. Billing issues it
    when it hears `contract.created`, a moment after the purchase."""
    deadline = time.monotonic() + timeout
    while True:
        first = next((i for i in invoices(billing, contract_id) if i["purpose"] == "first"), None)
        if first is not None:
            return checked(billing.get(f"/v1/invoices/{first['id']}")).json()
        if time.monotonic() > deadline:
            raise TimeoutError(f"no first invoice for {contract_id} after {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class CheckoutResult:
    contract: dict[str, Any]
    invoice: dict[str, Any] | None
    first: Purchase
    retry: Purchase
    log: list[str] = field(default_factory=list)


def checkout(ent: httpx.Client, billing: httpx.Client, body: dict[str, Any], *, idempotency_key: str | None = None,
             wait: bool = True, timeout: float = 60.0, poll_interval: float = 0.5,
             say=print) -> CheckoutResult:  # type: ignore[no-untyped-def]
    """A checkout step: buy, prove that a retry is safe, wait for payment, show the invoice."""
    key = idempotency_key or str(uuid.uuid4())  # one key per logical purchase, kept with the order
    first = purchase(ent, body, key)
    contract = first.contract
    say(f"contract {contract['id']}: {contract['plan_id']} for {contract['licence']['product']}/"
        f"{contract['licence']['reference']}, {contract['status']} (Idempotency-Key {key})")
    retry = purchase(ent, body, key)  # e.g. the response was lost: same key, same body
    say(f"retry with the same key: contract {retry.contract['id']} (replayed: {retry.replayed})")
    if retry.contract["id"] != contract["id"]:
        raise AssertionError("a retry with the same Idempotency-Key must return the same contract")
    invoice = None
    if wait:
        contract = wait_for_contract(ent, contract["id"], timeout=timeout, interval=poll_interval)
        say(f"contract {contract['id']} is {contract['status']} since {contract['activated_at']}")
        invoice = first_invoice(billing, contract["id"], timeout=timeout, interval=poll_interval)
        say(format_invoice(invoice))
    return CheckoutResult(contract, invoice, first, retry)


def format_invoice(invoice: dict[str, Any]) -> str:
    lines = [f"invoice {invoice['number']} ({invoice['purpose']}, {invoice['status']}), issued "
             f"{invoice['issue_date']}, due {invoice['due_date']}"]
    for line in invoice.get("lines", []):
        lines.append(f"  {line['position']}. {line['name']}: {line['net']} net + {line['vat']} VAT "
                     f"({line['vat_rate']} %) = {line['gross']} PLN")
    lines.append(f"  total {invoice['net_total']} net, {invoice['vat_total']} VAT, {invoice['gross_total']} gross; "
                 f"paid {invoice['amount_paid']}")
    return "\n".join(lines)


# ---- command line --------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entitlements-url", default=os.environ.get("SUPPORT_ENTITLEMENTS_URL", ENTITLEMENTS_URL))
    parser.add_argument("--billing-url", default=os.environ.get("SUPPORT_BILLING_URL", BILLING_URL))
    parser.add_argument("--token", default=os.environ.get("SHOP_TOKEN"), help="bearer token (default $SHOP_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("catalogue", help="list the products and the plans a shop can sell")

    def buying(name: str, help_: str, plan_default: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--customer-id", required=True)
        p.add_argument("--licence", required=True, help="licence reference: tenant, licence number, …")
        p.add_argument("--licence-product", default=None, help="office365 or sage (default: from the plan)")
        p.add_argument("--plan", default=plan_default)
        p.add_argument("--term", type=int, default=12, help="term in months (the product lists what it sells)")
        pay = p.add_mutually_exclusive_group()
        pay.add_argument("--card", default=None, help=f"card token (sandbox default {SANDBOX_CARD_OK})")
        pay.add_argument("--iban", default=None, help="direct-debit mandate: an IBAN in the sandbox")
        p.add_argument("--name", default="Contoso sp. z o.o.")
        p.add_argument("--nip", default="1234563218")
        p.add_argument("--address", default="ul. Prosta 1, 00-001 Warszawa")
        p.add_argument("--email", default="faktury@contoso.pl")
        p.add_argument("--idempotency-key", default=None, help="default: a new UUID")
        p.add_argument("--no-wait", action="store_true", help="do not wait for the payment")
        p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the payment")
        p.add_argument("--poll-interval", type=float, default=0.5, help="seconds between two looks at the contract")
        return p

    buying("addon", "buy a plan together with the licence (checkout add-on)", "o365-standard")
    standalone = buying("standalone", "buy a plan for a licence the customer already holds", "o365-standard")
    standalone.add_argument("--register-licence", action="store_true",
                            help="register the licence first (as the shop would when it sold it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    token = args.token or dev_token("shop")
    with client(args.entitlements_url, token) as ent, client(args.billing_url, token) as billing:
        try:
            if args.command == "catalogue":
                for product, pl in purchasable_plans(catalogue(ent)):
                    terms = plan(ent, pl["id"])
                    reaction = terms["reaction"].get("target_minutes")
                    print(f"{product['id']:<28} {pl['id']:<32} {pl['price_net']:>8} PLN/month net  "
                          f"terms {product['term_months']}  reaction {reaction} business min")
                return 0
            product_of_plan = {pl["id"]: p for p in catalogue(ent) for pl in p["plans"]}
            if args.plan not in product_of_plan:
                raise ApiError(404, "plan_not_found", f"no plan {args.plan!r} in the catalogue")
            licence_product = args.licence_product or product_of_plan[args.plan]["licence_product"]
            method, instrument = ("direct_debit", args.iban) if args.iban else ("card", args.card or SANDBOX_CARD_OK)
            if args.command == "standalone" and args.register_licence:
                licence = register_licence(ent, args.customer_id, licence_product, args.licence)
                print(f"licence {licence['id']} registered for {licence['customer_id']}")
            body = purchase_body(customer_id=args.customer_id, plan_id=args.plan, mode=args.command,
                                 licence_product=licence_product, licence_reference=args.licence,
                                 term_months=args.term, payment_method=method,
                                 billing=Billing(args.name, args.nip, args.address, args.email, instrument))
            checkout(ent, billing, body, idempotency_key=args.idempotency_key, wait=not args.no_wait,
                     timeout=args.timeout, poll_interval=args.poll_interval)
        except ApiError as exc:
            print(exc, file=sys.stderr)
            if exc.code == "licence_not_found":
                print("hint: a standalone purchase needs a licence the customer holds; add --register-licence "
                      "or buy it as an add-on", file=sys.stderr)
            return 1
        except TimeoutError as exc:
            print(f"timeout: {exc}", file=sys.stderr)
            if "pending_payment" in str(exc):
                print("hint: the first invoice is not paid yet; a declined charge is tried again after 1 and 3 days "
                      "(billing's `payment.failed` event says why); GET /v1/invoices?contract_id= shows it",
                      file=sys.stderr)
            return 2
        except httpx.TransportError as exc:
            print(f"cannot reach the platform ({exc!r}); is `make run` running?", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
