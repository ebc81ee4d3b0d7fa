"""The committed OpenAPI contracts (`openapi/<service>.json`) match the code, and every
operation is documented: a summary, a clean operation id, its security, its 401 and 422
answers, each error answer's codes as an enum, and the `Idempotency-Key` where it is read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from services.openapi_docs import render
from services.registry import SERVICES

OPENAPI = Path(__file__).resolve().parents[1] / "openapi"
# Operations endpoints answer without a token and take no input: no 401, no 422 to document.
UNAUTHENTICATED = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics")}
# Signed per Standard Webhooks instead of a bearer token.
SIGNED = {"billing": {("post", "/v1/payments/webhook")}}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Operation ids are lowerCamelCase `verbNoun`: what the generated clients' functions are called.
VERBS = {"get", "list", "create", "upsert", "update", "delete", "set", "add", "record", "register", "publish", "load",
         "check", "activate", "suspend", "resume", "terminate", "expire", "transfer", "upgrade", "apply", "complete",
         "receive", "rotate", "replay", "resolve", "reopen", "close", "assign", "request", "preview", "run", "declare",
         "extend", "answer", "dismiss"}
CLEAN_ID = re.compile(r"^(?P<verb>[a-z]+)(?:[A-Z][a-z0-9]*)+$")
# Where the key is required (400 `idempotency_key_required` without it) and where it is honoured.
IDEMPOTENCY = {
    "entitlements": {"required": {"createPurchase"},
                     "optional": {"registerLicence", "recordUsage", "createWebhookEndpoint",
                                  "rotateWebhookEndpointSecret"}},
    "tickets": {"required": {"createTicket"},
                "optional": {"requestCallback", "recordCallbackAttempt", "recordRemoteSession", "createComplaint",
                             "extendComplaint", "answerComplaint", "createWebhookEndpoint",
                             "rotateWebhookEndpointSecret"}},
    "billing": {"required": {"createCreditNote"},
                "optional": {"createBillingRun", "createWebhookEndpoint", "rotateWebhookEndpointSecret"}},
}


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
    operations = _operations(text)
    assert len(operations) > len(UNAUTHENTICATED)
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        if not op.get("summary", "").strip():
            problems.append(f"{where}: no summary")
        if (method, path) in UNAUTHENTICATED:
            continue
        if op.get("security") == []:  # signed instead: its 401 has its own code
            if "422" not in op.get("responses", {}):
                problems.append(f"{where}: 422 not documented")
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


def _operations(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in json.loads(text)["paths"].items()
            for method, op in item.items() if method in METHODS]


def _resolve(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in ref:
        return ref
    node: Any = doc
    for part in ref["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_operation_has_a_clean_unique_operation_id(rendered):
    _, text = rendered
    ids = [(op.get("operationId", ""), f"{method.upper()} {path}") for method, path, op in _operations(text)]
    unclean = [f"{where}: {op_id!r}" for op_id, where in ids
               if not (found := CLEAN_ID.match(op_id)) or found["verb"] not in VERBS]
    assert unclean == [], "operation ids must be lowerCamelCase verbNoun (set `operation_id=` on the route)"
    names = [op_id for op_id, _ in ids]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_security_is_the_bearer_scheme_with_the_scopes_except_where_unauthenticated(rendered):
    name, text = rendered
    doc = json.loads(text)
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    anonymous, problems = set(), []
    for method, path, op in _operations(text):
        security = op.get("security")
        if security == []:
            anonymous.add((method, path))
        elif not (isinstance(security, list) and len(security) == 1 and set(security[0]) == {"bearerAuth"}):
            problems.append(f"{method.upper()} {path}: security {security!r}")
        elif path.startswith("/v1/") and not security[0]["bearerAuth"]:
            problems.append(f"{method.upper()} {path}: no scope named")
        elif any(f"`{scope}`" not in scheme["description"] for scope in security[0]["bearerAuth"]):
            problems.append(f"{method.upper()} {path}: a scope the scheme does not describe")
    assert problems == []
    assert anonymous == UNAUTHENTICATED | SIGNED.get(name, set())
    for method, path in SIGNED.get(name, set()):
        headers = {p["name"] for p in doc["paths"][path][method]["parameters"] if p["in"] == "header"}
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers


def test_the_idempotency_key_header_is_declared_where_it_is_read(rendered):
    name, text = rendered
    doc = json.loads(text)
    found: dict[str, set[str]] = {"required": set(), "optional": set()}
    for _, _, op in _operations(text):
        for parameter in (_resolve(doc, p) for p in op.get("parameters", [])):
            if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
                found["required" if parameter["required"] else "optional"].add(op["operationId"])
                codes = {status: _resolve(doc, op["responses"][status]["content"]["application/json"]["schema"])
                         ["properties"]["error"]["enum"] for status in ("409", "422")}
                assert "idempotency_key_in_progress" in codes["409"] and "idempotency_key_reused" in codes["422"]
                if parameter["required"]:
                    assert "idempotency_key_required" in _resolve(doc, op["responses"]["400"]["content"][
                        "application/json"]["schema"])["properties"]["error"]["enum"]
    assert found == IDEMPOTENCY[name]


def test_every_error_answer_enumerates_its_codes_with_an_example_of_each(rendered):
    _, text = rendered
    doc = json.loads(text)
    problems = []
    for method, path, op in _operations(text):
        for status, response in op["responses"].items():
            if not status.startswith("4"):
                continue
            where = f"{method.upper()} {path} {status}"
            content = response.get("content", {}).get("application/json")
            if content is None:
                problems.append(f"{where}: no JSON body documented")
                continue
            schema = _resolve(doc, content["schema"])
            codes = schema["properties"]["error"].get("enum", [])
            if not codes or sorted(codes) != sorted(content.get("examples", {})):
                problems.append(f"{where}: codes {codes} vs examples {sorted(content.get('examples', {}))}")
            if any(f"`{code}`" not in response["description"] for code in codes):
                problems.append(f"{where}: description does not name every code")
    assert problems == []
    assert "ErrorBody" not in doc["components"]["schemas"]  # no code-less error schema is left over


def test_servers_name_the_development_address(rendered):
    name, text = rendered
    assert json.loads(text)["servers"][0]["url"] == f"http://127.0.0.1:{SERVICES[name].port}"
