"""Domain errors, validation and HTTP errors rendered as `{"error": code, "detail": message}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.context import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY, request_id_var
from shared.errors import DomainError, validation_codes

log = logging.getLogger("shared.errors")


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
    if first.get("type") in validation_codes():
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
        # Starlette re-raises after this answer and the server then drops the connection: say so
        # (`Connection: close`), so a keep-alive client opens a new one instead of failing its next request
        headers = {"connection": "close", **({REQUEST_ID_HEADER: rid} if rid else {})}
        return JSONResponse({"error": "internal_error", "detail": "An unexpected error occurred; it has been logged."},
                            status_code=500, headers=headers)
