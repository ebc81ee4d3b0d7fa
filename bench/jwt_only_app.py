"""The baseline of the entitlement-check bench: a minimal FastAPI app that only verifies the
bearer JWT, exactly as the service does (`shared.auth.Authenticator` behind the same
`require(ENTITLEMENTS_READ)` dependency, same JWKS, issuer and audience from the same
`ENTITLEMENTS_*` variables), on the same path, and returns a small JSON. No database, no
middleware: what is left when the service does nothing but authenticate.

    python -m uvicorn --factory bench.jwt_only_app:create_app --port 8101
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Query

from services.entitlements.settings import EntitlementsSettings
from shared.auth import Authenticator, Principal
from shared.web.auth import require
from shared.web.errors import install_error_handlers
from shared.roles import ENTITLEMENTS_READ

Reader = Annotated[Principal, Depends(require(ENTITLEMENTS_READ))]


def create_app(settings: EntitlementsSettings | None = None) -> FastAPI:
    settings = settings or EntitlementsSettings()
    app = FastAPI(title="JWT-only baseline", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.authenticator = Authenticator.from_settings(settings)
    install_error_handlers(app)  # a bad token is a 401 here too, not a 500

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/customers/{customer_id}/entitlements/check")
    async def check(principal: Reader, customer_id: str, product: str = Query(max_length=64),
                    feature: str = Query(max_length=64)) -> dict[str, object]:
        return {"allowed": True, "plan_id": None, "reason": "jwt_only", "contract_id": None}

    return app
