"""Domain errors with stable codes, rendered once as `{"error": code, "detail": message}`.

Services raise these (never HTTPException); `install_error_handlers` maps them to HTTP in one
place, and `error_responses` documents them in the OpenAPI `responses` of each route.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.context import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY, request_id_var

log = logging.getLogger("shared.errors")


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `body.billing.nip`.")
    message: str
    type: str


class DomainError(Exception):
    """Base of every expected failure. Subclasses set `status` and `code`."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request cannot be processed."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail or self.message
        self.headers = headers
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail}


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "A valid bearer token is required."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "The token does not grant this operation."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "No such resource."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"
    message = "The request is well-formed but cannot be applied."


class IdempotencyKeyRequired(DomainError):
    status = 400
    code = "idempotency_key_required"
    message = "This operation needs an Idempotency-Key header."


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request."


class IdempotencyInProgress(DomainError):
    status = 409
    code = "idempotency_key_in_progress"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


# Pydantic custom error types that are domain codes of their own (e.g. `invalid_nip`).
# A validator raises PydanticCustomError("invalid_nip", ...) and the code surfaces as is.
_VALIDATION_CODES: set[str] = set()


def register_validation_code(code: str) -> str:
    _VALIDATION_CODES.add(code)
    return code


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    errors = exc.errors()
    fields = [
        {"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]
    first = errors[0] if errors else {}
    code = "validation_error"
    if first.get("type") in _VALIDATION_CODES:
        code = first["type"]
    elif first.get("type") == "json_invalid":
        code = "invalid_json"
    elif first.get("type") == "extra_forbidden":
        code = "unknown_field"
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "invalid request"
    return {"error": code, "detail": detail, "fields": fields}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_body(exc), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse({"error": code, "detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette runs this handler outside every middleware (ServerErrorMiddleware), so the
        # request id is taken back from the scope for the log line and the response header.
        rid = request.scope.get(REQUEST_ID_SCOPE_KEY)
        token = request_id_var.set(rid)
        try:
            log.exception("unhandled error", extra={"path": request.url.path})
        finally:
            request_id_var.reset(token)
        return JSONResponse({"error": "internal_error", "detail": "An unexpected error occurred; it has been logged."},
                            status_code=500, headers={REQUEST_ID_HEADER: rid} if rid else None)


# The marker `error_responses` leaves in a route's `responses`: code → message per status.
# shared/openapi.py turns it into the response's description, examples and error-code enum.
ERRORS_KEY = "x-error-codes"
MALFORMED = {
    "validation_error": "A parameter or a body field is missing or invalid (`fields` says which).",
    "unknown_field": "The body has a field this operation does not take.",
    "invalid_json": "The body is not valid JSON.",
}


def error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route: every listed error under its status, and the malformed
    request codes under 422. The errors a route's dependencies raise (401, 403, the
    idempotency codes) are added from the dependencies themselves (shared/openapi.py)."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        out.setdefault(err.status, {ERRORS_KEY: {}})[ERRORS_KEY].setdefault(err.code, err.message)
    out.setdefault(422, {ERRORS_KEY: {}})[ERRORS_KEY].update(MALFORMED)
    return dict(sorted(out.items()))
