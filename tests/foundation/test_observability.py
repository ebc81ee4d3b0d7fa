"""What an operator sees of one service: process and runtime metrics, dead letters counted where
they happen and on scrape, and one JSON access-log line per request with its request id, route
template, status, duration and the caller's `sub`."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from shared.logs import ACCESS_LOGGER, AccessJsonFormatter
from shared.settings import EventSink
from tests.entitlements.helpers import buy
from tests.support.metrics import access_lines, names, scrape, value


async def test_metrics_carry_process_and_python_runtime_metrics(api):
    samples = await scrape(api.client())
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
            "python_gc_objects_collected_total", "python_info"} <= names(samples)
    assert value(samples, "process_resident_memory_bytes") > 0


async def test_dead_letters_are_counted_when_they_happen_and_on_scrape(make_api, receiver, clock):
    sinks = {"consumer": EventSink(url=receiver.url, events=["*"]),
             "broken": EventSink(url=receiver.url.replace("/v1/events", "/gone"), events=["contract.created"])}
    api = await make_api(relay_enabled=False, relay_max_attempts=2, event_sinks=sinks)
    before = await scrape(api.client())
    assert value(before, "outbox_dead_letters", service="entitlements") == 0
    await buy(api.client("shop"), reference="tenant-dead-metrics")
    relay = api.app.state.runtime.relay
    for _ in range(2):
        await relay.drain()
        clock.advance(timedelta(minutes=15))
    after = await scrape(api.client())
    assert value(after, "outbox_delivery_failures_total", service="entitlements", sink="broken") == 2
    assert value(after, "outbox_dead_lettered_total", service="entitlements", sink="broken") == 1
    assert value(after, "outbox_dead_letters", service="entitlements") == 1
    assert value(after, "outbox_delivery_failures_total", sink="consumer") == 0


async def test_each_request_writes_one_json_access_line_with_its_request_id(api, shop, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    contract = (await buy(shop)).json()
    response = await shop.get(f"/v1/contracts/{contract['id']}", headers={"X-Request-ID": "rid-access-1"})
    assert response.status_code == 200
    await api.client().get("/healthz", headers={"X-Request-ID": "rid-access-2"})

    [line] = access_lines(caplog.records, "rid-access-1")
    assert {k: line[k] for k in ("logger", "service", "method", "path", "status", "sub")} == {
        "logger": ACCESS_LOGGER, "service": "entitlements", "method": "GET", "path": "/v1/contracts/{contract_id}",
        "status": 200, "sub": "test-shop"}
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert contract["id"] not in json.dumps(line)  # the route template, never the id
    [anonymous] = access_lines(caplog.records, "rid-access-2")
    assert (anonymous["path"], anonymous["sub"]) == ("/healthz", None)


async def test_a_refused_body_is_logged_too(api, shop, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    body = b"x" * (1024 * 1024 + 1)
    response = await shop.post("/v1/purchases", content=body, headers={"X-Request-ID": "rid-too-large",
                                                                     "content-type": "application/json"})
    assert response.status_code == 413
    [line] = access_lines(caplog.records, "rid-too-large")
    assert (line["status"], line["path"], line["method"]) == (413, "unmatched", "POST")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_the_access_formatter_writes_one_line(fmt):
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "request", None, None)
    record.__dict__.update(method="GET", path="/v1/x", status=200, duration_ms=1.5, request_id="r", service="s",
                           sub=None)
    from shared.logs import AccessTextFormatter

    text = (AccessJsonFormatter() if fmt == "json" else AccessTextFormatter()).format(record)
    assert "\n" not in text and "/v1/x" in text
    if fmt == "json":
        assert json.loads(text)["request_id"] == "r"
