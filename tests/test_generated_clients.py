"""The committed contracts (openapi/*.json) are usable as they are: `openapi-python-client`
generates a client from each, and the generated code, untouched, buys a plan (its
`Idempotency-Key` a normal parameter), files a ticket and lists the invoice, against the three
services served by uvicorn on loopback ports with an injected clock, on both backends.

The generator's only configuration is what an integrator would give it: no formatter hook, and
the documents the services answer with (PDF, XML, a raw e-mail) read as bytes."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, AsyncIterator

import httpx
import pytest

from services.billing.main import create_app as create_billing
from services.billing.models import metadata as billing_metadata
from services.billing.settings import BillingSettings
from services.entitlements.main import create_app as create_entitlements
from services.entitlements.models import metadata as entitlements_metadata
from services.entitlements.service.catalogue import DEFAULT_CATALOGUE, read_catalogue_file
from services.entitlements.settings import EntitlementsSettings
from services.paysandbox.app import SandboxSettings, create_app as create_sandbox
from services.registry import EVENT_ROUTES, SERVICES
from services.tickets.main import create_app as create_tickets
from services.tickets.models import metadata as tickets_metadata
from services.tickets.settings import TicketsSettings
from shared.clock import FixedClock
from shared.devkeys import DEV_KID, mint_token
from shared.settings import EventSink
from tests.support.served import Served, free_port
from tests.support.waiting import until

OPENAPI = Path(__file__).resolve().parents[1] / "openapi"
GENERATOR_CONFIG = """\
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
  application/xml: application/octet-stream
  message/rfc822: application/octet-stream
"""
CARD_OK = "4242424242424242"


def _generator() -> list[str]:
    found = Path(sys.executable).with_name("openapi-python-client")
    assert found.exists(), "openapi-python-client is missing: it is in the dev extra (pip install -e '.[dev]')"
    return [str(found)]


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    """One generated package per committed contract (`entitlements_client`, …), imported."""
    folder = tmp_path_factory.mktemp("generated")
    config = folder / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    packages: dict[str, ModuleType] = {}
    for name in SERVICES:
        done = subprocess.run([*_generator(), "generate", "--path", str(OPENAPI / f"{name}.json"), "--meta", "none",
                               "--output-path", str(folder / f"{name}_client"), "--config", str(config)],
                              capture_output=True, text=True, timeout=300)
        said = done.stdout + done.stderr
        assert done.returncode == 0, said
        assert "warning" not in said.lower(), f"the generator skipped parts of {name}.json:\n{said}"
    sys.path.insert(0, str(folder))
    try:
        for name in SERVICES:
            packages[name] = importlib.import_module(f"{name}_client")
    finally:
        sys.path.remove(str(folder))
    return packages


def _module(package: ModuleType, dotted: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{dotted}")


@dataclass
class Platform:
    urls: dict[str, str]
    pem: str
    clock: FixedClock

    def token(self, role: str, customer_id: str | None = None) -> str:
        return mint_token(self.pem, kid=DEV_KID, issuer="supportctl-dev", audience="support-platform",
                          subject=f"generated-{role}", role=role, customer_id=customer_id)


def _sinks(producer: str, urls: dict[str, str]) -> dict[str, EventSink]:
    return {consumer: EventSink(url=f"{urls[consumer]}/v1/events", events=events)
            for consumer, events in EVENT_ROUTES[producer].items()}


@pytest.fixture
async def platform(stores, keys: tuple[Path, Path], clock: FixedClock) -> AsyncIterator[Platform]:
    """Entitlements, tickets, billing and the payment sandbox, wired as under `supportctl up`."""
    private, jwks = keys
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in SERVICES}
    port = {name: int(url.rsplit(":", 1)[1]) for name, url in urls.items()}
    common: dict[str, Any] = dict(environment="test", jwks_file=jwks, signing_key_file=private, signing_key_id=DEV_KID,
                                  relay_poll_interval=0.05, relay_backoff_base=0.01, relay_backoff_max=0.05)
    sandbox = SandboxSettings(webhook_url=f"{urls['billing']}/v1/payments/webhook", processing_delay=0.05,
                              webhook_backoff_base=0.05)
    async with Served(create_sandbox(sandbox), lifespan="on") as sandbox_url:
        entitlements = EntitlementsSettings(**common, database_url=await stores.fresh_url(
            "entitlements", entitlements_metadata),
            catalogue_cache_seconds=0, event_sinks=_sinks("entitlements", urls))
        tickets = TicketsSettings(**common, database_url=await stores.fresh_url("tickets", tickets_metadata),
                                  entitlements_url=urls["entitlements"], sla_scan_interval=0,
                                  entitlement_cache_seconds=0, smtp_listen_port=0, mail_outbound_enabled=False)
        billing = BillingSettings(**common, database_url=await stores.fresh_url("billing", billing_metadata),
                                  payment_provider_url=sandbox_url, payment_provider_timeout=2.0, charge_interval=0.05,
                                  event_sinks=_sinks("billing", urls))
        async with Served(create_entitlements(entitlements, clock=clock), lifespan="on", port=port["entitlements"]), \
                Served(create_tickets(tickets, clock=clock), lifespan="on", port=port["tickets"]), \
                Served(create_billing(billing, clock=clock), lifespan="on", port=port["billing"]):
            world = Platform(urls, private.read_text(), clock)
            catalogue = read_catalogue_file(DEFAULT_CATALOGUE).model_dump(mode="json")
            await _load_catalogue(world, catalogue)
            yield world


async def _load_catalogue(world: Platform, catalogue: dict[str, Any]) -> None:
    """Seeding is the operator's job, not the integrator's: plain HTTP."""
    async with httpx.AsyncClient(base_url=world.urls["entitlements"],
                                 headers={"authorization": f"Bearer {world.token('admin')}"}) as admin:
        loaded = await admin.post("/v1/catalogue", json=catalogue)
        assert loaded.status_code == 200, loaded.text


async def test_generated_clients_buy_a_plan_file_a_ticket_and_list_the_invoice(clients, platform: Platform):
    ent, tix, bill = clients["entitlements"], clients["tickets"], clients["billing"]
    m = _module(ent, "models")
    shop = ent.AuthenticatedClient(base_url=platform.urls["entitlements"], token=platform.token("shop"))
    body = m.PurchaseIn(
        customer_id="cust-gen-1", plan_id="o365-standard", mode=m.ContractMode.ADDON,
        licence=m.LicenceRef(product="office365", reference="gen1.onmicrosoft.com"), term_months=12,
        payment_method=m.PaymentMethod.CARD,
        billing=m.BillingDetails(name="Contoso sp. z o.o.", nip="1234563218", address="ul. Prosta 1, 00-001 Warszawa",
                                 email="faktury@contoso.pl", payment_instrument=CARD_OK))
    create_purchase = _module(ent, "api.contracts.create_purchase")
    key = str(uuid.uuid4())
    async with shop:
        bought = await create_purchase.asyncio_detailed(client=shop, body=body, idempotency_key=key)
        assert bought.status_code == 201, bought.content
        contract = bought.parsed
        assert isinstance(contract, m.ContractOut) and contract.status.value == "pending_payment"

        # The key is a real parameter: the same key replays, another body under it is the enum'd 422.
        again = await create_purchase.asyncio_detailed(client=shop, body=body, idempotency_key=key)
        assert again.status_code == 201 and again.parsed.id == contract.id
        assert again.headers.get("idempotent-replayed") == "true"
        body.term_months = 24
        reused = await create_purchase.asyncio_detailed(client=shop, body=body, idempotency_key=key)
        assert reused.status_code == 422
        assert isinstance(reused.parsed, m.CreatePurchase422Error)
        assert reused.parsed.error == m.CreatePurchase422ErrorError.IDEMPOTENCY_KEY_REUSED

        read = await _module(ent, "api.contracts.get_contract").asyncio(contract.id, client=shop)
        assert isinstance(read, m.ContractOut) and read.licence.reference == "gen1.onmicrosoft.com"

    # Without a token, the documented 401 body parses as such.
    anonymous = ent.Client(base_url=platform.urls["entitlements"])
    async with anonymous:
        refused = await _module(ent, "api.contracts.get_contract").asyncio_detailed(contract.id, client=anonymous)
    assert refused.status_code == 401 and isinstance(refused.parsed, m.UnauthorizedError)
    assert refused.parsed.error == m.UnauthorizedErrorError.UNAUTHORIZED

    # A ticket, filed by the customer through the tickets client (its Idempotency-Key required too).
    t = _module(tix, "models")
    customer = tix.AuthenticatedClient(base_url=platform.urls["tickets"],
                                       token=platform.token("customer", customer_id="cust-gen-1"))
    ticket_in = t.TicketIn(customer_id="cust-gen-1", product="office365-support", subject="Teams calls drop",
                           description="Every Teams call drops after about five minutes since Monday.",
                           category="basic_config_help", channel=t.Channel.API,
                           contact=t.Contact(name="Anna Nowak", email="anna@contoso.pl"),
                           licence_reference="gen1.onmicrosoft.com")
    async with customer:
        filed = await _module(tix, "api.tickets.create_ticket").asyncio_detailed(
            client=customer, body=ticket_in, idempotency_key=str(uuid.uuid4()))
        assert filed.status_code == 201, filed.content
        ticket = filed.parsed
        assert isinstance(ticket, t.TicketDetailOut) and ticket.customer_id == "cust-gen-1"
        assert ticket.sla.reaction_due_at is not None
        listed = await _module(tix, "api.tickets.list_tickets").asyncio(client=customer)
        assert [found.id for found in listed.items] == [ticket.id]

    # Billing heard of the contract (entitlements' outbox) and invoiced it; the shop lists it.
    b = _module(bill, "models")
    list_invoices = _module(bill, "api.invoices.list_invoices")
    biller = bill.AuthenticatedClient(base_url=platform.urls["billing"], token=platform.token("shop"))
    async with biller:
        async def invoiced() -> list[Any]:
            page = await list_invoices.asyncio(client=biller, contract_id=contract.id)
            assert isinstance(page, b.PageInvoiceOut), page
            return page.items
        invoices = await until(invoiced, "the contract's first invoice")
    assert invoices[0].contract_id == contract.id and invoices[0].customer_id == "cust-gen-1"
