"""How the tickets service serves the agent SPA (no browser needed): /agent redirects to /agent/,
files come only from the SPA's folder, a strict CSP (scripts from this origin only, nothing
inline), config.json tells the sign-in mode and the server's time, nothing is in the OpenAPI
schema, and the SPA itself loads nothing from elsewhere."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.tickets.api.agent_ui import AGENT_DIR
from services.tickets.main import create_app
from services.tickets.settings import TicketsSettings
from shared.clock import FixedClock

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def app_with(tmp_path: Path, keys: tuple[Path, Path], **overrides: Any) -> Any:
    settings = TicketsSettings(environment="test", database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db",
                               jwks_file=keys[1], signing_key_file=keys[0], smtp_listen_port=0,
                               mail_outbound_enabled=False, sla_scan_interval=0, **overrides)
    return create_app(settings, clock=FixedClock(NOW))


async def get(app: Any, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tickets") as client:
        return await client.get(path)


async def test_the_spa_is_served_at_agent_with_a_strict_csp(tmp_path, keys):
    app = app_with(tmp_path, keys)
    moved = await get(app, "/agent")
    assert (moved.status_code, moved.headers["location"]) == (308, "agent/")  # relative: /agent/
    index = await get(app, "/agent/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    csp = index.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert index.headers["x-content-type-options"] == "nosniff"
    assert index.headers["referrer-policy"] == "no-referrer"
    script = await get(app, "/agent/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    for path in ("/agent/missing.js", "/agent/../settings.py", "/agent/%2e%2e/settings.py", "/agent/..%2fmain.py",
                 "/agent/__init__.py"):
        response = await get(app, path)
        assert response.status_code == 404, path
    assert not [p for p in app.openapi()["paths"] if p.startswith("/agent")]


async def test_config_says_how_to_sign_in_and_what_time_it_is(tmp_path, keys):
    dev = (await get(app_with(tmp_path, keys), "/agent/config.json")).json()
    assert dev["auth_mode"] == "token" and dev["oidc"] is None
    assert datetime.fromisoformat(dev["server_time"]) == NOW
    assert dev["sla_warning_ratio"] == 0.75
    oidc_app = app_with(tmp_path, keys, agent_oidc_authorize_url="https://idp.example.pl/authorize",
                        agent_oidc_token_url="https://login.example.pl/token", agent_oidc_client_id="agent-spa",
                        agent_oidc_scope="openid tickets")
    response = await get(oidc_app, "/agent/config.json")
    assert response.json()["auth_mode"] == "oidc"
    assert response.json()["oidc"] == {
        "authorize_url": "https://idp.example.pl/authorize", "token_url": "https://login.example.pl/token",
        "client_id": "agent-spa", "scope": "openid tickets", "redirect_uri": None}
    # the browser exchanges the code itself: the token endpoint's origin, and only it, is allowed
    assert "connect-src 'self' https://login.example.pl;" in response.headers["content-security-policy"]


def test_an_authorize_url_without_token_url_or_client_is_refused():
    with pytest.raises(ValueError, match="agent_oidc_token_url"):
        TicketsSettings(agent_oidc_authorize_url="https://idp.example.pl/authorize")


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("inline <style>")
        self.problems += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]
        for name in ("src", "href"):
            if re.match(r"(https?:)?//", names.get(name) or ""):
                self.problems.append(f"{tag} {name} from elsewhere: {names[name]}")


def test_no_inline_code_and_nothing_from_elsewhere():
    parser = _Inline()
    parser.feed((AGENT_DIR / "index.html").read_text())
    assert parser.problems == []
    for module in AGENT_DIR.glob("*.js"):
        text = module.read_text()
        imports = re.findall(r"""\bfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']""", text)
        assert all(spec.startswith("./") for pair in imports for spec in pair if spec), module.name
        assert "innerHTML" not in text and "eval(" not in text, module.name
    assert "@import" not in (AGENT_DIR / "styles.css").read_text()
    assert "url(http" not in (AGENT_DIR / "styles.css").read_text()
