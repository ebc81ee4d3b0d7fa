"""Renders a service's OpenAPI document without a database or keys (for `supportctl openapi`
and the drift test)."""

from __future__ import annotations

import json

from services.registry import ServiceSpec
from shared.auth import Authenticator
from shared.runtime import Runtime


def render(spec: ServiceSpec) -> str:
    # The committed contract names the development address (`servers`), whatever this shell's settings say.
    settings = spec.settings_class()(database_url="sqlite+aiosqlite:///:memory:", event_sinks={},
                                     public_url=f"http://127.0.0.1:{spec.port}")
    authenticator = Authenticator(issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                  algorithms=settings.jwt_algorithms)
    runtime = Runtime(settings, authenticator=authenticator)
    app = spec.app_factory()(settings, runtime=runtime)
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
