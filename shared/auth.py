"""Bearer-token authentication and scope checks. The only module that touches python-jose's
verification: RS256/ES256 pinned, `iss`/`aud`/`exp` required and checked, keys from a JWKS
file or URL. 401 when the token is missing or invalid. The request dependencies (the bearer
header, the scope checks: 403) are in shared/web/auth.py."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from jose import jwk, jws, jwt
from jose.exceptions import JOSEError

from shared.errors import NotFound, Unauthorized

log = logging.getLogger("shared.auth")

ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
LEEWAY_SECONDS = 30
_JWKS_REFRESH_MIN_INTERVAL = 60.0


@dataclass(frozen=True)
class Principal:
    sub: str
    scopes: frozenset[str]
    roles: tuple[str, ...] = ()
    customer_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_customer(self) -> bool:
        return self.customer_id is not None

    def may_see(self, customer_id: str) -> bool:
        return self.customer_id is None or self.customer_id == customer_id

    def ensure_may_see(self, customer_id: str, what: str = "resource") -> None:
        """Object-level check: a customer user gets 404 for anything not its own (no existence leak)."""
        if not self.may_see(customer_id):
            raise NotFound(f"{what} not found")

    def customer_filter(self, customer_id: str | None) -> str | None:
        """The customer a listing is restricted to: a customer user always lists its own (asking
        for another's is 404); other callers list what they asked for (None: everyone's)."""
        if self.customer_id is None:
            return customer_id
        self.ensure_may_see(customer_id or self.customer_id, "customer")
        return self.customer_id


class Authenticator:
    def __init__(self, *, issuer: str, audience: str, algorithms: list[str], jwks: dict[str, Any] | None = None,
                 jwks_url: str | None = None) -> None:
        bad = set(algorithms) - ALLOWED_ALGORITHMS
        if bad:
            raise ValueError(f"algorithms not allowed: {sorted(bad)}; use RS256 or ES256")
        self.issuer, self.audience, self.algorithms = issuer, audience, list(algorithms)
        self.jwks_url = jwks_url
        self._keys: dict[str | None, Any] = {}
        self._last_fetch = 0.0
        self._lock = asyncio.Lock()
        if jwks:
            self._load(jwks)

    @classmethod
    def from_settings(cls, settings: Any) -> "Authenticator":
        jwks = None
        if settings.jwks_file:
            jwks = json.loads(Path(settings.jwks_file).read_text())
        elif not settings.jwks_url:
            raise ValueError("configure jwks_file or jwks_url")
        return cls(issuer=settings.jwt_issuer, audience=settings.jwt_audience, algorithms=settings.jwt_algorithms,
                   jwks=jwks, jwks_url=settings.jwks_url)

    def _load(self, jwks: dict[str, Any]) -> None:
        keys: dict[str | None, Any] = {}
        for entry in jwks.get("keys", []):
            alg = entry.get("alg") or ("ES256" if entry.get("kty") == "EC" else "RS256")
            if alg not in self.algorithms:
                continue
            keys[entry.get("kid")] = (alg, jwk.construct(entry, alg))
        if not keys:
            raise ValueError("the JWKS has no usable RS256/ES256 key")
        self._keys = keys

    async def refresh(self) -> None:
        if not self.jwks_url:
            return
        async with self._lock:
            if time.monotonic() - self._last_fetch < _JWKS_REFRESH_MIN_INTERVAL and self._keys:
                return
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                self._load(response.json())
            self._last_fetch = time.monotonic()

    def _key_for(self, kid: str | None) -> tuple[str, Any] | None:
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return None

    async def authenticate(self, token: str) -> Principal:
        try:
            header = jws.get_unverified_header(token)
        except JOSEError:
            raise Unauthorized("malformed token") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise Unauthorized(f"token algorithm {alg!r} is not accepted")
        found = self._key_for(header.get("kid"))
        if found is None and self.jwks_url:
            await self.refresh()  # key rotation: fetch once more, rate-limited
            found = self._key_for(header.get("kid"))
        if found is None:
            raise Unauthorized("token signed with an unknown key")
        key_alg, key = found
        if key_alg != alg:
            raise Unauthorized("token algorithm does not match its key")
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=self.audience, issuer=self.issuer,
                options={"require_exp": True, "require_iss": True, "require_aud": True, "require_sub": True,
                         "leeway": LEEWAY_SECONDS},
            )
        except JOSEError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split() if isinstance(scope, str) else scope)
        roles = claims.get("roles") or ()
        return Principal(sub=str(claims["sub"]), scopes=scopes, roles=tuple(roles),
                         customer_id=claims.get("customer_id"), claims=claims)
