"""The request's principal as a FastAPI dependency: bearer header, token check, scopes (403)."""

from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import Depends, Request

from shared.auth import Principal
from shared.errors import Forbidden, Unauthorized


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


async def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = await request.app.state.authenticator.authenticate(_bearer(request))
    request.state.principal = principal
    return principal


current_principal.authenticates = True  # type: ignore[attr-defined] # read by shared/openapi.py: bearer needed


def require(*scopes: str) -> Callable[..., Any]:
    """Dependency: the caller's principal, which must hold every scope listed (else 403)."""

    async def _dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        missing = [s for s in scopes if not principal.has(s)]
        if missing:
            raise Forbidden(f"token lacks scope {' '.join(missing)}")
        return principal

    _dependency.__name__ = "require_" + "_".join(s.replace(":", "_") for s in scopes)
    _dependency.required_scopes = scopes  # type: ignore[attr-defined] # the route's `security` (shared/openapi.py)
    return _dependency


def scoped(*scopes: str) -> type[Principal]:
    """A route parameter type: the caller's principal, holding every scope listed (else 403)."""
    return Annotated[Principal, Depends(require(*scopes))]  # type: ignore[return-value]
