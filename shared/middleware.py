"""The HTTP edge as one pure-ASGI middleware: request id, body size limit, metrics, access log.

One layer (not three, and not BaseHTTPMiddleware) keeps the per-request cost small on the hot
path: the response goes through a single `send` wrapper.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException

from shared.context import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY, request_id_var
from shared.logs import AccessLog

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_RID = REQUEST_ID_HEADER.lower().encode()
MAX_AUTHORIZATION = 8 * 1024  # a bearer JWT is well under 2 KB; a larger one is not ours
MAX_HEADERS = 16 * 1024  # all request headers together


class _TooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the limit. An HTTPException so that a
    framework reading the body passes it on (FastAPI turns any other error while reading the
    body into a 400) and the app's handler renders it as 413 `payload_too_large`; if it escapes
    the app instead, the middleware answers 413 itself."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=f"request body exceeds {max_bytes} bytes")


class EdgeMiddleware:
    """- takes the caller's `X-Request-ID` (or makes one), exposes it to logs and outgoing calls,
      and echoes it on the response;
    - refuses bodies over `max_bytes` with 413 `payload_too_large`, by Content-Length or while
      streaming (R-T11: input is bounded), and an Authorization header over 8 KB or headers over
      16 KB in all with 431 `request_header_fields_too_large`, before any token is looked at;
    - counts requests and their latency by route template (bounded label values);
    - writes one access-log line per request (`support.access`): method, route template, status,
      duration, request id and the caller's token `sub` when it was authenticated. No I/O but
      that line: the principal is the one the auth dependency already put in the request state."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, registry: CollectorRegistry, service: str) -> None:
        self.app, self.max_bytes, self.service = app, max_bytes, service
        self.requests = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"],
                                registry=registry)
        self.latency = Histogram("http_request_duration_seconds", "HTTP request latency",
                                 ["service", "method", "route"], registry=registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self.access = AccessLog(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        rid = None
        too_large = False
        header_bytes, big_authorization = 0, False
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value) + 4
            if name == _RID:
                rid = value.decode("latin-1")[:128]
            elif name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                too_large = True
            elif name == b"authorization" and len(value) > MAX_AUTHORIZATION:
                big_authorization = True
        rid = rid or uuid.uuid4().hex
        if big_authorization or header_bytes > MAX_HEADERS:
            what = (f"the Authorization header exceeds {MAX_AUTHORIZATION} bytes" if big_authorization
                    else f"the request headers exceed {MAX_HEADERS} bytes")
            await self._refuse(send, rid, 431, "request_header_fields_too_large", what)
            self._observe(scope, 431, time.perf_counter() - start, rid)
            return
        if too_large:  # refused before the app runs, still with the request id and counted
            await self._refuse(send, rid)
            self._observe(scope, 413, time.perf_counter() - start, rid)
            return
        # also in the scope: Starlette renders unhandled errors outside every middleware
        scope[REQUEST_ID_SCOPE_KEY] = rid
        token = request_id_var.set(rid)
        status = 500
        started = False
        seen = 0

        async def _receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def _send(message: dict[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message.setdefault("headers", []).append((_RID, rid.encode("latin-1")))
            await send(message)

        try:
            await self.app(scope, _receive, _send)
        except _TooLarge:
            if not started:
                status = 413
                await self._refuse(send, rid)
        finally:
            request_id_var.reset(token)
            self._observe(scope, status, time.perf_counter() - start, rid)

    def _observe(self, scope: Scope, status: int, elapsed: float, rid: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        key = (scope["method"], template, str(status))
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(self.service, key[0], template, key[2]),
                        self.latency.labels(self.service, key[0], template))
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)
        principal = (scope.get("state") or {}).get("principal")
        self.access.write({"method": key[0], "path": template, "status": status,
                           "duration_ms": round(elapsed * 1000, 3), "request_id": rid,
                           "sub": getattr(principal, "sub", None)})

    async def _refuse(self, send: Send, rid: str, status: int = 413, code: str = "payload_too_large",
                      detail: str | None = None) -> None:
        body = json.dumps({"error": code, "detail": detail or f"request body exceeds {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (_RID, rid.encode("latin-1"))]})
        await send({"type": "http.response.body", "body": body})
