"""Operating the platform from its logs and metrics, end to end: one purchase followed by its
request id through the three services' JSON access logs (the event it caused is relayed with the
request id), and every process exposing process, runtime and HTTP metrics."""

from __future__ import annotations

import json
import uuid

import pytest

from services.registry import SERVICES
from shared.logs import ACCESS_LOGGER
from tests.e2e import steps
from tests.e2e.harness import CARD_OK, Platform, unique, until
from tests.entitlements.helpers import purchase_body
from tests.support.metrics import names, scrape

pytestmark = [pytest.mark.timeout(120)]


def access_log(p: Platform, service: str, request_id: str) -> list[dict[str, object]]:
    """The access-log lines of `request_id` in the service's log file (stderr, one JSON object a line)."""
    found = []
    for line in p[service].log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == ACCESS_LOGGER and entry.get("request_id") == request_id:
            found.append(entry)
    return found


async def test_one_purchase_is_followed_by_its_request_id_through_the_three_services_logs(platform: Platform):
    p = platform
    customer, request_id = unique("cust-logs"), f"rid-{uuid.uuid4().hex}"
    body = purchase_body(customer_id=customer, plan_id="o365-standard", payment_method="card",
                         reference=f"{customer}.onmicrosoft.com")
    body["billing"]["payment_instrument"] = CARD_OK
    bought = await p.client("entitlements", "shop").post("/v1/purchases", json=body, headers={
        "Idempotency-Key": str(uuid.uuid4()), "X-Request-ID": request_id})
    assert bought.status_code == 201, bought.text
    await steps.status(p, bought.json()["id"], "active")

    async def everywhere() -> dict[str, list[dict[str, object]]] | None:
        lines = {name: access_log(p, name, request_id) for name in SERVICES}
        return lines if all(lines.values()) else None

    lines = await until(everywhere, f"access lines of {request_id} in every service's log")
    [purchase] = lines["entitlements"]
    assert (purchase["method"], purchase["path"], purchase["status"], purchase["sub"]) == (
        "POST", "/v1/purchases", 201, "e2e-shop")
    assert purchase["duration_ms"] > 0 and purchase["service"] == "entitlements"
    for consumer in ("billing", "tickets"):  # contract.created, relayed with the purchase's request id
        assert {(e["method"], e["path"], e["status"], e["sub"]) for e in lines[consumer]} >= {
            ("POST", "/v1/events", 200, "svc:entitlements")}, lines[consumer]


async def test_every_service_exposes_process_runtime_and_http_metrics(platform: Platform):
    for service in SERVICES:
        samples = await scrape(platform.client(service))
        assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "python_gc_objects_collected_total",
                "http_requests_total", "outbox_pending_messages", "outbox_dead_letters"} <= names(samples), service
