"""The k8s manifests route events between services exactly as the embedded default does (one
table, services/registry.py EVENT_ROUTES): a consumer missing in production would silently never
hear, say, that a contract was paid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.registry import EVENT_ROUTES, SERVICES

K8S = Path(__file__).resolve().parents[1] / "k8s" / "base"


def _config(service: str) -> dict[str, str]:
    lines = (K8S / service / "config.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_k8s_event_sinks_match_the_routing_table(service):
    sinks = json.loads(_config(service)[f"{SERVICES[service].env_prefix}EVENT_SINKS"])
    expected = {consumer: {"url": f"http://{consumer}/v1/events", "events": events}
                for consumer, events in EVENT_ROUTES.get(service, {}).items()}
    assert sinks == expected
