"""Per-request context carried across await points and, through headers, across services."""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# The request id is also kept in the ASGI scope, for code that runs outside the middleware's
# context (Starlette renders unhandled exceptions in its outermost ServerErrorMiddleware).
REQUEST_ID_SCOPE_KEY = "support.request_id"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
