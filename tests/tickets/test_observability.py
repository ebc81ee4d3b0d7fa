"""What an operator of the tickets service is alerted by: SLA warnings and breaches counted once
each, when the scan that raised them commits; complaints past R-T9's deadline; and one request
followed from tickets to entitlements by its request id in both services' access logs."""

from __future__ import annotations

import logging

from shared.logs import ACCESS_LOGGER
from tests.support.metrics import access_lines, scrape, value
from tests.tickets.conftest import at
from tests.tickets.test_complaints import file as file_complaint


async def test_sla_warnings_and_breaches_are_counted_once_each(world):
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    ticket = (await world.file()).json()  # due 12:30
    metrics = world.tickets(None)
    before = await scrape(metrics)
    assert value(before, "tickets_sla_warnings_total") == 0 and value(before, "tickets_sla_breaches_total") == 0

    assert (await world.sla_scan("2026-11-23 11:30"))["warned"] == [ticket["id"]]
    await world.sla_scan("2026-11-23 11:45")  # nothing new
    warned = await scrape(metrics)
    assert value(warned, "tickets_sla_warnings_total", service="tickets", priority=str(ticket["priority"])) == 1
    assert value(warned, "tickets_sla_breaches_total") == 0

    assert (await world.sla_scan("2026-11-23 12:30"))["breached"] == [ticket["id"]]
    await world.sla_scan("2026-11-23 13:00")
    breached = await scrape(metrics)
    assert value(breached, "tickets_sla_breaches_total", kind="breach", excused="false") == 1
    assert value(breached, "tickets_sla_breaches_total", kind="estimate_exceeded") == 0
    assert value(breached, "tickets_sla_warnings_total") == 1


async def test_a_free_plans_overrun_is_counted_apart_from_breaches(world):
    world.clock.set(at("2026-11-23 09:00"))
    contract = await world.contract()
    await world.entitlements().post(f"/v1/contracts/{contract['id']}/suspend")
    await world.file(category="documented_solutions")
    await world.sla_scan("2026-11-24 09:00")
    samples = await scrape(world.tickets(None))
    assert value(samples, "tickets_sla_breaches_total", kind="estimate_exceeded") == 1
    assert value(samples, "tickets_sla_breaches_total", kind="breach") == 0


async def test_overdue_complaints_are_a_gauge(world):
    world.clock.set(at("2026-11-23 10:00"))
    await world.contract()
    await file_complaint(world, subject="A", received_at=at("2026-11-02 10:00").isoformat())  # due 2 Dec
    await file_complaint(world, subject="D")  # due 23 Dec
    assert value(await scrape(world.tickets(None)), "tickets_complaints_overdue") == 0
    world.clock.set(at("2026-12-15 10:00"))
    assert value(await scrape(world.tickets(None)), "tickets_complaints_overdue", service="tickets") == 1
    world.clock.set(at("2026-12-24 10:00"))
    assert value(await scrape(world.tickets(None)), "tickets_complaints_overdue") == 2


async def test_one_request_is_followed_from_tickets_to_entitlements_by_its_request_id(world, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    world.clock.set(at("2026-11-23 08:30"))
    await world.contract()
    crm = world.tickets("crm")
    crm.headers["X-Request-ID"] = "rid-follow-me"
    filed = await world.file(crm)
    assert filed.status_code == 201, filed.text
    assert filed.headers["x-request-id"] == "rid-follow-me"

    lines = access_lines(caplog.records, "rid-follow-me")
    by_service = {line["service"]: line for line in lines}
    assert set(by_service) == {"tickets", "entitlements"}, lines
    assert (by_service["tickets"]["method"], by_service["tickets"]["path"], by_service["tickets"]["status"],
            by_service["tickets"]["sub"]) == ("POST", "/v1/tickets", 201, "test-crm")
    # the entitlement snapshot, asked with tickets' own service token and the caller's request id
    asked = by_service["entitlements"]
    assert (asked["method"], asked["status"], asked["sub"]) == ("GET", 200, "svc:tickets")
    assert asked["path"].startswith("/v1/customers/{customer_id}/entitlements"), asked
