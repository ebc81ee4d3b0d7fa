"""Bearer-token authentication (RS256/ES256 pinned, iss/aud/exp required), scopes, and the
object-level rule that a customer sees only its own data (404, never 403, for anything else)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt

from shared.auth import Authenticator
from shared.devkeys import DEV_KID, mint_token
from shared.errors import Unauthorized
from shared.roles import ROLE_SCOPES
from tests.entitlements.helpers import buy

ISSUER, AUDIENCE = "supportctl-dev", "support-platform"
PROTECTED = "/v1/contracts"  # any route that needs a token; contracts:read


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_json(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def _unb64_json(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _claims(role: str = "shop", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"test-{role}", "iat": now, "nbf": now,
                              "exp": now + 600, "roles": [role], "scope": " ".join(sorted(ROLE_SCOPES[role]))}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _ec_key() -> tuple[str, dict[str, Any]]:
    """A P-256 private key (PEM) and its public JWK (kid `ec-1`, alg ES256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    public = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in jwk.construct(public_pem, "ES256").to_dict().items()}
    public.update({"kid": "ec-1", "alg": "ES256", "use": "sig"})
    return pem, public


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


# ---- 401: no token or an unacceptable one ----------------------------------------------------


async def test_no_token_is_401_with_www_authenticate(api):
    anonymous = api.client()
    _assert_401(await anonymous.get(PROTECTED))
    _assert_401(await anonymous.get(PROTECTED, headers={"authorization": "Basic dXNlcjpwYXNz"}))
    _assert_401(await anonymous.get(PROTECTED, headers={"authorization": "Bearer "}))


async def test_a_valid_token_is_accepted(api):
    """The control for every 401 below: the same request with a good token is 200."""
    assert (await api.client(token=api.token("shop")).get(PROTECTED)).status_code == 200


async def test_expired_token_is_401(api):
    expired = api.token("shop", now=int(time.time()) - 7200, ttl=3600)  # expired an hour ago (leeway is 30 s)
    _assert_401(await api.client(token=expired).get(PROTECTED))


async def test_token_with_tampered_payload_is_401(api):
    header, payload, signature = api.token("customer", customer_id="cust-1").split(".")
    claims = _unb64_json(payload)
    claims["customer_id"] = "cust-2"
    _assert_401(await api.client(token=f"{header}.{_b64_json(claims)}.{signature}").get(PROTECTED))
    claims = _unb64_json(payload)
    claims["scope"] += " contracts:manage"
    _assert_401(await api.client(token=f"{header}.{_b64_json(claims)}.{signature}").get(PROTECTED))


async def test_token_signed_by_another_key_with_the_same_kid_is_401(api):
    forged = mint_token(_rsa_pem(), kid=DEV_KID, issuer=ISSUER, audience=AUDIENCE, subject="intruder", role="admin")
    _assert_401(await api.client(token=forged).get(PROTECTED))


async def test_alg_none_token_is_401(api):
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_b64_json({'alg': alg, 'typ': 'JWT', 'kid': DEV_KID})}.{_b64_json(_claims('admin'))}."
        _assert_401(await api.client(token=unsigned).get(PROTECTED))


async def test_hs256_token_keyed_with_the_public_key_is_401(api, keys):
    """Key confusion: an HMAC token whose secret is the verifier's public key."""
    jwks_entry = json.loads(keys[1].read_text())["keys"][0]
    public_pem = jwk.construct(jwks_entry, "RS256").to_pem()
    for header in ({"alg": "HS256", "typ": "JWT", "kid": DEV_KID}, {"alg": "HS256", "typ": "JWT"}):
        signing_input = f"{_b64_json(header)}.{_b64_json(_claims('admin'))}"
        for secret in (public_pem, public_pem.strip(), keys[1].read_bytes()):
            signature = _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
            _assert_401(await api.client(token=f"{signing_input}.{signature}").get(PROTECTED))


async def test_wrong_issuer_is_401(api, keys):
    token = mint_token(keys[0].read_text(), kid=DEV_KID, issuer="https://evil.example", audience=AUDIENCE,
                       subject="s", role="shop")
    _assert_401(await api.client(token=token).get(PROTECTED))


async def test_wrong_audience_is_401(api, keys):
    token = mint_token(keys[0].read_text(), kid=DEV_KID, issuer=ISSUER, audience="another-platform",
                       subject="s", role="shop")
    _assert_401(await api.client(token=token).get(PROTECTED))


async def test_missing_exp_is_401(api, keys):
    no_exp = jwt.encode(_claims("shop", exp=None), keys[0].read_text(), algorithm="RS256", headers={"kid": DEV_KID})
    assert "exp" not in jwt.get_unverified_claims(no_exp)
    _assert_401(await api.client(token=no_exp).get(PROTECTED))


async def test_missing_aud_or_iss_is_401(api, keys):
    for missing in ("aud", "iss"):
        token = jwt.encode(_claims("shop", **{missing: None}), keys[0].read_text(), algorithm="RS256",
                           headers={"kid": DEV_KID})
        _assert_401(await api.client(token=token).get(PROTECTED))


async def test_garbage_and_unknown_kid_are_401(api, keys):
    _assert_401(await api.client(token="not-a-jwt").get(PROTECTED))
    unknown_kid = jwt.encode(_claims("shop"), keys[0].read_text(), algorithm="RS256", headers={"kid": "rotated-away"})
    _assert_401(await api.client(token=unknown_kid).get(PROTECTED))


# ---- 403: authenticated, but the token lacks the scope ----------------------------------------


async def test_valid_token_without_the_scope_is_403(api, keys):
    narrow = jwt.encode(_claims("shop", scope="catalogue:read"), keys[0].read_text(), algorithm="RS256",
                        headers={"kid": DEV_KID})
    client = api.client(token=narrow)
    assert (await client.get("/v1/products")).status_code == 200
    response = await client.get(PROTECTED)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"
    assert "contracts:read" in response.json()["detail"]
    # roles are not scopes: an "admin" role claim without scopes grants nothing
    admin_role_only = jwt.encode(_claims("admin", scope=""), keys[0].read_text(), algorithm="RS256",
                                 headers={"kid": DEV_KID})
    assert (await api.client(token=admin_role_only).get(PROTECTED)).status_code == 403


# ---- ES256 -----------------------------------------------------------------------------------


@pytest.fixture
def ec_jwks(keys: tuple[Path, Path], tmp_path: Path) -> tuple[str, Path]:
    """An EC private key and a JWKS file holding the dev RSA key and the EC key side by side."""
    pem, public = _ec_key()
    both = json.loads(keys[1].read_text())
    both["keys"].append(public)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(both))
    return pem, path


async def test_es256_tokens_verify_against_an_ec_key_in_the_jwks(ec_jwks, keys):
    pem, path = ec_jwks
    auth = Authenticator(issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256", "ES256"],
                         jwks=json.loads(path.read_text()))
    good = jwt.encode(_claims("customer", customer_id="cust-9"), pem, algorithm="ES256", headers={"kid": "ec-1"})
    principal = await auth.authenticate(good)
    assert principal.customer_id == "cust-9" and principal.has("contracts:read") and principal.sub == "test-customer"
    # the RSA key beside it still works
    rsa_token = mint_token(keys[0].read_text(), kid=DEV_KID, issuer=ISSUER, audience=AUDIENCE, subject="s", role="shop")
    assert (await auth.authenticate(rsa_token)).sub == "s"
    # an ES256 token naming the RSA key, or signed by another EC key, is refused
    with pytest.raises(Unauthorized):
        await auth.authenticate(jwt.encode(_claims("shop"), pem, algorithm="ES256", headers={"kid": DEV_KID}))
    other_pem, _ = _ec_key()
    with pytest.raises(Unauthorized):
        await auth.authenticate(jwt.encode(_claims("shop"), other_pem, algorithm="ES256", headers={"kid": "ec-1"}))
    # an authenticator configured for RS256 only refuses ES256
    rs_only = Authenticator(issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256"], jwks=json.loads(path.read_text()))
    with pytest.raises(Unauthorized):
        await rs_only.authenticate(good)


async def test_an_es256_token_is_accepted_over_http(make_api, ec_jwks):
    pem, path = ec_jwks
    api = await make_api(jwks_file=path)
    token = jwt.encode(_claims("shop"), pem, algorithm="ES256", headers={"kid": "ec-1"})
    response = await api.client(token=token).get("/v1/products")
    assert response.status_code == 200, response.text
    assert response.json(), "the catalogue is loaded"
    other_pem, _ = _ec_key()
    forged = jwt.encode(_claims("shop"), other_pem, algorithm="ES256", headers={"kid": "ec-1"})
    _assert_401(await api.client(token=forged).get("/v1/products"))


# ---- object-level checks: customers see only their own -----------------------------------------


async def test_a_customer_sees_only_its_own_data_and_404_for_anything_else(api, shop):
    mine = (await buy(shop, customer_id="cust-a", reference="tenant-a")).json()
    theirs = (await buy(shop, customer_id="cust-b", reference="tenant-b")).json()
    customer = api.client("customer", customer_id="cust-a")

    own = await customer.get(f"/v1/contracts/{mine['id']}")
    assert own.status_code == 200 and own.json()["id"] == mine["id"]
    assert (await customer.get(f"/v1/contracts/{mine['id']}/history")).status_code == 200
    licences = await customer.get("/v1/customers/cust-a/licences")
    assert [lic["reference"] for lic in licences.json()] == ["tenant-a"]
    entitlements = await customer.get("/v1/customers/cust-a/entitlements")
    assert entitlements.status_code == 200 and entitlements.json()["customer_id"] == "cust-a"

    for path in (f"/v1/contracts/{theirs['id']}", f"/v1/contracts/{theirs['id']}/history",
                 f"/v1/contracts/{theirs['id']}/data-disposition",
                 "/v1/customers/cust-b/licences", "/v1/customers/cust-b/entitlements",
                 "/v1/customers/cust-b/entitlements/check?product=o365&feature=remote_help"):
        response = await customer.get(path)
        assert response.status_code == 404, (path, response.text)
    refused = await customer.post(f"/v1/contracts/{theirs['id']}/upgrade", json={"plan_id": "o365-advanced"})
    assert refused.status_code == 404, refused.text


async def test_another_customers_contract_looks_exactly_like_a_missing_one(api, shop):
    """No existence leak: the 404 for someone else's contract is indistinguishable from the 404
    for an id that does not exist."""
    theirs = (await buy(shop, customer_id="cust-b", reference="tenant-b")).json()
    customer = api.client("customer", customer_id="cust-a")
    missing_id = theirs["id"][:-4] + ("0000" if not theirs["id"].endswith("0000") else "1111")
    for suffix in ("", "/history", "/data-disposition"):
        existing = await customer.get(f"/v1/contracts/{theirs['id']}{suffix}")
        missing = await customer.get(f"/v1/contracts/{missing_id}{suffix}")
        assert existing.status_code == missing.status_code == 404
        assert existing.json()["error"] == missing.json()["error"], (suffix, existing.json(), missing.json())
        assert (existing.json()["detail"].replace(theirs["id"], "<id>")
                == missing.json()["detail"].replace(missing_id, "<id>")), suffix


async def test_contract_list_for_a_customer_holds_only_its_own(api, shop):
    mine = [(await buy(shop, customer_id="cust-a", reference=f"a-{i}")).json()["id"] for i in range(2)]
    (await buy(shop, customer_id="cust-b", reference="b-1")).json()
    customer = api.client("customer", customer_id="cust-a")

    listed = await customer.get("/v1/contracts")
    assert listed.status_code == 200
    assert sorted(c["id"] for c in listed.json()["items"]) == sorted(mine)
    assert {c["customer_id"] for c in listed.json()["items"]} == {"cust-a"}
    assert (await customer.get("/v1/contracts", params={"customer_id": "cust-b"})).status_code == 404
    own_filter = await customer.get("/v1/contracts", params={"customer_id": "cust-a"})
    assert sorted(c["id"] for c in own_filter.json()["items"]) == sorted(mine)
    # the shop (not a customer) sees all three
    assert len((await shop.get("/v1/contracts")).json()["items"]) == 3
