"""Domain errors with stable codes, rendered once as `{"error": code, "detail": message}`.

Services raise these (never HTTPException); `shared.web.errors.install_error_handlers` maps them
to HTTP in one place, and `error_responses` documents them in the OpenAPI `responses` of each route.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `body.billing.nip`.")
    message: str
    type: str


class DomainError(Exception):
    """Base of every expected failure. Subclasses set `status` and `code`."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request cannot be processed."

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, message: str | None = None,
                          **kwargs: Any) -> None:
        """`class Gone(DomainError, status=410, code="gone", message="…")`: one line per error."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code
        if message is not None:
            cls.message = message

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail or self.message
        self.headers = headers
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail}


class Unauthorized(DomainError, status=401, code="unauthorized",
                   message="A valid bearer token is required."):
    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(DomainError, status=403, code="forbidden",
                message="The token does not grant this operation."):
    pass


class NotFound(DomainError, status=404, code="not_found",
               message="No such resource."):
    pass


class Conflict(DomainError, status=409, code="conflict",
               message="The request conflicts with the current state."):
    pass


class Unprocessable(DomainError, status=422, code="unprocessable",
                    message="The request is well-formed but cannot be applied."):
    pass


class IdempotencyKeyRequired(DomainError, status=400, code="idempotency_key_required",
                             message="This operation needs an Idempotency-Key header."):
    pass


class IdempotencyKeyReused(DomainError, status=422, code="idempotency_key_reused",
                           message="This Idempotency-Key was used with a different request."):
    pass


class IdempotencyInProgress(DomainError, status=409, code="idempotency_key_in_progress",
                            message="A request with this Idempotency-Key is still being processed; retry shortly."):
    pass


# Pydantic custom error types that are domain codes of their own (e.g. `invalid_nip`).
# A validator raises PydanticCustomError("invalid_nip", ...) and the code surfaces as is.
_VALIDATION_CODES: set[str] = set()


def register_validation_code(code: str) -> str:
    _VALIDATION_CODES.add(code)
    return code


def validation_codes() -> frozenset[str]:
    return frozenset(_VALIDATION_CODES)


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
