"""A service's OpenAPI document, completed once from what its routes already declare (nothing
here runs per request: FastAPI builds the document on the first `/openapi.json` and keeps it).

- **Security**: a route that depends on `require(scope…)` (shared/auth.py) needs a bearer JWT
  with those scopes: `security: [{bearerAuth: [scopes]}]` (OpenAPI 3.1 lets a non-OAuth scheme
  list the roles, here scopes, it needs); a route with no bearer dependency declares
  `security: []`. The scheme is HTTP bearer, not OAuth2 client credentials: tokens come from the
  integrator's identity provider or `supportctl token`, there is no token endpoint to name, and
  a bearer scheme gives Swagger UI's Authorize button a plain token field.
- **Idempotency-Key**: a header parameter wherever the route reads it, required where a missing
  key is 400 `idempotency_key_required` (shared/web/idempotency.py), optional where it is honoured.
- **Errors**: each route's error responses carry a schema whose `error` is an enum of exactly
  the codes that route lists (`error_responses`), plus those its dependencies raise (401
  `unauthorized`, 403 `forbidden`, the idempotency codes).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared.errors import (
    ERRORS_KEY, MALFORMED, DomainError, FieldError, Forbidden, IdempotencyInProgress, IdempotencyKeyRequired,
    IdempotencyKeyReused, Unauthorized, Unprocessable,
)
from shared.roles import ROLE_SCOPES

BEARER = "bearerAuth"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_SCHEMAS = "#/components/schemas/"
_PARAMETERS = "#/components/parameters/"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def install(app: FastAPI) -> None:
    """Replace `app.openapi` with FastAPI's document completed by `complete`, built once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete(build(), app)  # FastAPI's build caches the document it returns; completed in place
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


# ---- what a route declares ---------------------------------------------------------------------

def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


class _Route:
    """The facts about one route that the document states: scopes, bearer, idempotency key."""

    def __init__(self, route: Any, listed: set[str]) -> None:
        calls = list(_calls(route.dependant))
        scopes = {s for c in calls for s in getattr(c, "required_scopes", ())}
        self.scopes = sorted(scopes)
        self.authenticated = any(getattr(c, "authenticates", False) for c in calls)
        modes = {getattr(c, "idempotency_key", None) for c in calls}
        if "required" in modes or IdempotencyKeyRequired.code in listed:
            self.idempotency: str | None = "required"
        elif "optional" in modes or IdempotencyKeyReused.code in listed:
            self.idempotency = "optional"
        else:
            self.idempotency = None

    def implied_errors(self) -> list[type[DomainError]]:
        """The errors the route's dependencies raise, whether or not the route lists them."""
        errors: list[type[DomainError]] = []
        if self.authenticated:
            errors.append(Unauthorized)
        if self.scopes:
            errors.append(Forbidden)
        if self.idempotency:
            errors += [IdempotencyKeyReused, IdempotencyInProgress, Unprocessable]  # key reused, busy, too long
        if self.idempotency == "required":
            errors.append(IdempotencyKeyRequired)
        return errors


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's API routes as the document sees them (with their routers' prefixes): FastAPI
    0.13x+ keeps included routers whole and lists their routes through `iter_route_contexts`."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        yield from (route for route in app.routes if isinstance(route, APIRoute))
        return
    yield from (context for context in contexts(app.routes) if isinstance(context.original_route, APIRoute))


def _operations(doc: dict[str, Any], app: FastAPI) -> Iterator[tuple[Any, dict[str, Any]]]:
    for route in _api_routes(app):
        if route.include_in_schema:
            item = doc["paths"].get(route.path_format, {})
            for method in sorted(m.lower() for m in route.methods):
                if method in item:
                    yield route, item[method]


# ---- the document ------------------------------------------------------------------------------

def complete(doc: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    used_scopes: set[str] = set()
    for route, op in _operations(doc, app):
        listed = {code for response in op.get("responses", {}).values() for code in response.get(ERRORS_KEY, {})}
        facts = _Route(route, listed)
        used_scopes.update(facts.scopes)
        if facts.authenticated:
            op["security"] = [{BEARER: facts.scopes}]
            if facts.scopes:
                needs = ", ".join(f"`{s}`" for s in facts.scopes)
                op["description"] = (op.get("description", "") + f"\n\nNeeds a bearer token with {needs}.").strip()
        else:
            op.setdefault("security", [])
        if facts.idempotency:
            name = "IdempotencyKey" if facts.idempotency == "required" else "IdempotencyKeyOptional"
            op.setdefault("parameters", []).append({"$ref": _PARAMETERS + name})
        _error_responses(op, facts, schemas)
    components["securitySchemes"] = {BEARER: _bearer_scheme(sorted(used_scopes))}
    components.setdefault("parameters", {}).update(_idempotency_parameters())
    return doc


def _bearer_scheme(scopes: list[str]) -> dict[str, Any]:
    rows = "\n".join(f"| `{scope}` | {', '.join(r for r, granted in ROLE_SCOPES.items() if scope in granted)} |"
                     for scope in scopes)
    return {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A JWT signed RS256 or ES256 by the platform's issuer, with `iss`, `aud`, `sub` and `exp`; "
                       "its `scope` claim (space-separated) lists what it may do, and a token with `customer_id` "
                       "sees only that customer's data. In development `supportctl token --role shop` mints one. "
                       "Each operation names the scopes it needs; a token without them gets 403 `forbidden`.\n\n"
                       "| scope | granted to the roles |\n|---|---|\n" + rows,
    }


def _idempotency_parameters() -> dict[str, Any]:
    schema = {"type": "string", "minLength": 1, "maxLength": 200}
    what = ("A client-chosen key (a UUID per logical request). A retry with the same key and body replays the "
            "first response (header `Idempotent-Replayed: true`); the same key with another body is 422 "
            "`idempotency_key_reused`; while the first is still running, 409 `idempotency_key_in_progress`.")
    return {
        "IdempotencyKey": {"name": IDEMPOTENCY_HEADER, "in": "header", "required": True, "schema": schema,
                           "description": what + " Required: without it the answer is 400 "
                                                 "`idempotency_key_required`.",
                           "example": "5f0c8d2e-3b7a-4f43-9a57-2d1f0f4b8c11"},
        "IdempotencyKeyOptional": {"name": IDEMPOTENCY_HEADER, "in": "header", "required": False, "schema": schema,
                                   "description": what + " Optional: without it a retry runs anew.",
                                   "example": "5f0c8d2e-3b7a-4f43-9a57-2d1f0f4b8c11"},
    }


# ---- error responses ---------------------------------------------------------------------------

def _pascal(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _error_responses(op: dict[str, Any], facts: _Route, schemas: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    declared = {status: dict(response.pop(ERRORS_KEY)) for status, response in responses.items()
                if ERRORS_KEY in response}
    if not declared and not facts.authenticated:
        return  # operations endpoints: no error body to describe
    for err in facts.implied_errors():
        declared.setdefault(str(err.status), {}).setdefault(err.code, err.message)
    if not facts.authenticated:
        declared.get("401", {}).pop(Unauthorized.code, None)
    for status in sorted(declared):
        codes = declared[status]
        if not codes:
            responses.pop(status, None)
            continue
        name = _error_schema(op["operationId"], status, list(codes), schemas)
        response = responses.setdefault(status, {})
        response["description"] = "\n".join(f"- `{code}`: {message}" for code, message in codes.items())
        response["content"] = {"application/json": {"schema": {"$ref": _SCHEMAS + name}, "examples": {
            code: {"summary": message, "value": {"error": code, "detail": message}}
            for code, message in codes.items()}}}
    op["responses"] = dict(sorted(op["responses"].items()))


def _error_schema(operation_id: str, status: str, codes: list[str], schemas: dict[str, Any]) -> str:
    """The component describing an error body with these codes: one per code when there is one
    (`ContractNotFoundError`), one for a malformed request alone (`MalformedRequestError`),
    otherwise one per operation and status (`CreatePurchase422Error`)."""
    if len(codes) == 1:
        name = _pascal(codes[0]) + "Error"
    elif set(codes) == set(MALFORMED):
        name = "MalformedRequestError"
    else:
        name = f"{_pascal(operation_id)}{status}Error"
    properties: dict[str, Any] = {
        "error": {"type": "string", "enum": codes, "title": "Error", "description": "Stable machine-readable code."},
        "detail": {"type": "string", "title": "Detail", "description": "Human-readable explanation."},
    }
    if status == "422":
        properties["fields"] = {"anyOf": [{"type": "array", "items": {"$ref": _SCHEMAS + "FieldError"}},
                                          {"type": "null"}],
                                "title": "Fields", "description": "Per-field problems (validation)."}
        schemas.setdefault("FieldError", FieldError.model_json_schema())
    schema = {"type": "object", "title": name, "required": ["error", "detail"], "properties": properties,
              "description": f"An error answered with HTTP {status}."}
    if schemas.get(name, schema) != schema:
        raise ValueError(f"two different error schemas would be named {name!r}")
    schemas[name] = schema
    return name



def standard_webhook_parameters() -> list[dict[str, Any]]:
    """The headers of a delivery signed per Standard Webhooks, for a route that receives one
    (its `openapi_extra`): such a route has no bearer token, its signature is its credential."""
    def header(name: str, description: str, example: str) -> dict[str, Any]:
        return {"name": name, "in": "header", "required": True, "schema": {"type": "string", "minLength": 1},
                "description": description, "example": example}

    return [
        header("webhook-id", "The event's id: the same on every retry, so a receiver can deduplicate.",
               "msg_2mXQ0x8ZQ5bW1s7YH3o8yHkP4rQ"),
        header("webhook-timestamp", "Unix seconds of this attempt; a delivery more than five minutes off is "
                                    "refused.", "1796814000"),
        header("webhook-signature", "`v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` with the "
                                    "shared secret; several space-separated signatures while a secret rotates.",
               "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
    ]


def binary_response(media_type: str, description: str) -> dict[str, Any]:
    """A route's `responses` entry for a document it answers with (a PDF, XML, a raw e-mail)."""
    return {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}
