"""The committed OpenAPI contracts (`openapi/<service>.json`) match the code, and every
operation is documented: a summary, and its 401 and 422 answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.openapi_docs import render
from services.registry import SERVICES

OPENAPI = Path(__file__).resolve().parents[1] / "openapi"
# Operations endpoints answer without a token and take no input: no 401, no 422 to document.
UNAUTHENTICATED = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics")}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module", params=sorted(SERVICES))
def rendered(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, render(SERVICES[request.param])


def test_committed_openapi_matches_the_code(rendered):
    name, text = rendered
    committed = OPENAPI / f"{name}.json"
    assert committed.exists(), f"{committed} is missing; run `supportctl openapi`"
    assert text == committed.read_text(), f"{committed} has drifted from the code; run `supportctl openapi`"


def test_every_operation_has_a_summary_and_documents_401_and_422(rendered):
    _, text = rendered
    problems = []
    operations = [(method, path, op) for path, item in json.loads(text)["paths"].items()
                  for method, op in item.items() if method in METHODS]
    assert len(operations) > len(UNAUTHENTICATED)
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        if not op.get("summary", "").strip():
            problems.append(f"{where}: no summary")
        if (method, path) in UNAUTHENTICATED:
            continue
        for status in ("401", "422"):
            if status not in op.get("responses", {}):
                problems.append(f"{where}: {status} not documented")
        if "401" in op.get("responses", {}) and "unauthorized" not in json.dumps(op["responses"]["401"]):
            problems.append(f"{where}: 401 does not name `unauthorized`")
    assert problems == []


def test_the_unauthenticated_exemptions_are_real_operations(rendered):
    _, text = rendered
    paths = json.loads(text)["paths"]
    assert all(method in paths.get(path, {}) for method, path in UNAUTHENTICATED)
