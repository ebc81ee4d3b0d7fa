"""Development key pair and token minting (`supportctl token`, service-to-service calls).

Production uses keys from the deployment's identity provider; only the JWKS (public) is
configured there. The private key here is generated on first run under `DATA_DIR/keys`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from shared.roles import ROLE_SCOPES

PRIVATE_KEY = "private.pem"
JWKS = "jwks.json"
DEV_KID = "dev"


def ensure_dev_keys(keys_dir: Path, kid: str = DEV_KID) -> tuple[Path, Path]:
    """Create an RS256 key pair and its JWKS once; later calls reuse them."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    private_path, jwks_path = keys_dir / PRIVATE_KEY, keys_dir / JWKS
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        private_path.write_bytes(pem)
        private_path.chmod(0o600)
        jwks_path.unlink(missing_ok=True)
    if not jwks_path.exists():
        pem = private_path.read_bytes()
        public_pem = serialization.load_pem_private_key(pem, password=None).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        public = jwk.construct(public_pem, "RS256").to_dict()
        public.update({"kid": kid, "use": "sig", "alg": "RS256"})
        public = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in public.items()}
        jwks_path.write_text(json.dumps({"keys": [public]}, indent=2))
    return private_path, jwks_path


def mint_token(private_key_pem: str | bytes, *, kid: str, issuer: str, audience: str, subject: str,
               role: str, customer_id: str | None = None, ttl: int = 3600, now: int | None = None,
               extra: dict[str, Any] | None = None) -> str:
    if role not in ROLE_SCOPES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLE_SCOPES)}")
    if role == "customer" and not customer_id:
        raise ValueError("a customer token needs a customer_id")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": subject, "iat": issued, "nbf": issued, "exp": issued + ttl,
        "roles": [role], "scope": " ".join(sorted(ROLE_SCOPES[role])),
    }
    if customer_id:
        claims["customer_id"] = customer_id
    claims.update(extra or {})
    key = private_key_pem.decode() if isinstance(private_key_pem, bytes) else private_key_pem
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
