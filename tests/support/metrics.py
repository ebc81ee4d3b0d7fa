"""Reading a service's /metrics (Prometheus text format) in tests."""

from __future__ import annotations

import logging

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.logs import ACCESS_LOGGER


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of GET /metrics: (name, labels) → value."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def names(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
    return {name for name, _ in samples}


def access_lines(records: list[logging.LogRecord], request_id: str) -> list[dict[str, object]]:
    """The access-log lines (as the JSON formatter writes them) of one request id."""
    import json

    from shared.logs import AccessJsonFormatter

    formatter = AccessJsonFormatter()
    return [json.loads(formatter.format(r)) for r in records
            if r.name == ACCESS_LOGGER and getattr(r, "request_id", None) == request_id]
