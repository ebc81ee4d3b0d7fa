"""The agent SPA: static files (ES modules, no build step) served at `/agent/`, and
`/agent/config.json` with the sign-in mode and the server's time. Not part of the API: kept out
of the OpenAPI schema. Every response carries a strict Content-Security-Policy (scripts from this
origin only, nothing inline, no third-party origin except the configured OIDC token endpoint)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from services.tickets.settings import TicketsSettings
from shared.errors import NotFound

AGENT_DIR = Path(__file__).resolve().parent.parent / "agent"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
          ".ico": "image/x-icon", ".png": "image/png"}

router = APIRouter(include_in_schema=False)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def security_headers(settings: TicketsSettings) -> dict[str, str]:
    connect = ["'self'"]
    token_origin = _origin(settings.agent_oidc_token_url) if settings.agent_oidc_authorize_url else None
    if token_origin:
        connect.append(token_origin)  # the code is exchanged for a token from the browser (PKCE)
    csp = "; ".join([
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        f"connect-src {' '.join(connect)}", "font-src 'self'", "manifest-src 'self'", "base-uri 'none'",
        "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'",
    ])
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",  # the authorization code is in the URL on return from the IdP
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "no-cache",  # revalidate: a deployment's new files are picked up at once
    }


def _settings(request: Request) -> TicketsSettings:
    return request.app.state.runtime.settings


@router.get("/agent", response_class=RedirectResponse)
async def agent_root() -> RedirectResponse:
    return RedirectResponse("agent/", status_code=308)  # relative: right behind a path prefix too


@router.get("/agent/config.json")
async def agent_config(request: Request) -> JSONResponse:
    """What the SPA needs before sign-in: how to sign in, and the server's clock (the countdowns
    correct the browser's clock by it)."""
    settings = _settings(request)
    oidc = None
    if settings.agent_oidc_authorize_url:
        oidc = {"authorize_url": settings.agent_oidc_authorize_url, "token_url": settings.agent_oidc_token_url,
                "client_id": settings.agent_oidc_client_id, "scope": settings.agent_oidc_scope,
                "redirect_uri": settings.agent_oidc_redirect_uri or None}
    body = {
        "auth_mode": "oidc" if oidc else "token",
        "oidc": oidc,
        "environment": settings.environment,
        "server_time": request.app.state.runtime.clock.now().isoformat(),
        "sla_warning_ratio": settings.sla_warning_ratio,
        "refresh_seconds": settings.agent_refresh_seconds,
    }
    headers = security_headers(settings) | {"Cache-Control": "no-store"}
    return JSONResponse(body, headers=headers)


@router.api_route("/agent/{path:path}", methods=["GET", "HEAD"])
async def agent_file(path: str, request: Request) -> Response:
    """A file of the SPA; `/agent/` is index.html. Only the SPA's own kinds of file, only from its folder."""
    target = (AGENT_DIR / (path or "index.html")).resolve()
    if (AGENT_DIR not in target.parents or target.suffix not in _TYPES or target.name.startswith(".")
            or not target.is_file()):
        raise NotFound(f"no such file in the agent app: {path!r}")
    return FileResponse(target, media_type=_TYPES[target.suffix], headers=security_headers(_settings(request)))
