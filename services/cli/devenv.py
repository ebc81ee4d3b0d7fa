"""The embedded default: every unset setting of every service derived from one data folder
(SQLite files, the generated dev key pair). Only in development; production sets everything."""

from __future__ import annotations

import json
import os
from pathlib import Path

from services.registry import EVENT_ROUTES, SERVICES, ServiceSpec
from shared.devkeys import ensure_dev_keys

DATA_DIR_ENV = "SUPPORT_DATA_DIR"
MAILSINK_PORT_ENV = "SUPPORT_MAILSINK_PORT"  # the development mail sink (`supportctl mailsink`)
MAILSINK_PORT = 1025
PAYSANDBOX_PORT_ENV = "PAYSANDBOX_PORT"  # the payment provider's sandbox (`supportctl paysandbox`)
PAYSANDBOX_PORT = 8090


def data_dir(option: Path | None) -> Path:
    return (option or Path(os.environ.get(DATA_DIR_ENV, "./var"))).resolve()


def port_of(spec: ServiceSpec) -> int:
    """The port a service listens on: its `{P}PORT` if the operator set one, else the default."""
    return int(os.environ.get(f"{spec.env_prefix}PORT", spec.port))


def mailsink_port() -> int:
    return int(os.environ.get(MAILSINK_PORT_ENV, MAILSINK_PORT))


def paysandbox_port() -> int:
    return int(os.environ.get(PAYSANDBOX_PORT_ENV, PAYSANDBOX_PORT))


def dev_defaults(root: Path) -> dict[str, str]:
    """Environment variables the embedded default needs, for every service."""
    private_key, jwks = root / "keys" / "private.pem", root / "keys" / "jwks.json"
    env: dict[str, str] = {DATA_DIR_ENV: str(root)}
    sinks = _event_sinks()
    for spec in SERVICES.values():
        p = spec.env_prefix
        env.update({
            f"{p}DATABASE_URL": f"sqlite+aiosqlite:///{root / (spec.name + '.db')}",
            f"{p}JWKS_FILE": str(jwks),
            f"{p}SIGNING_KEY_FILE": str(private_key),
            f"{p}PORT": str(port_of(spec)),
            f"{p}EVENT_SINKS": json.dumps(sinks.get(spec.name, {})),
        })
        for other in SERVICES.values():
            env[f"{p}{other.name.upper()}_URL"] = f"http://127.0.0.1:{port_of(other)}"
        if spec.name == "tickets":  # its outgoing mail goes to the development mail sink
            env.update({f"{p}SMTP_RELAY_HOST": "127.0.0.1", f"{p}SMTP_RELAY_PORT": str(mailsink_port())})
        if spec.name == "billing":  # it charges through the payment sandbox, which calls it back
            env[f"{p}PAYMENT_PROVIDER_URL"] = f"http://127.0.0.1:{paysandbox_port()}"
            env["PAYSANDBOX_WEBHOOK_URL"] = f"http://127.0.0.1:{port_of(spec)}/v1/payments/webhook"
    return env


def _event_sinks() -> dict[str, dict[str, dict[str, object]]]:
    """Who hears whose events in the embedded default (only services that exist)."""
    out: dict[str, dict[str, dict[str, object]]] = {}
    for producer, consumers in EVENT_ROUTES.items():
        if producer not in SERVICES:
            continue
        out[producer] = {c: {"url": f"http://127.0.0.1:{port_of(SERVICES[c])}/v1/events", "events": events}
                         for c, events in consumers.items() if c in SERVICES}
    return out


def apply_dev_defaults(option: Path | None, *, create_keys: bool = True) -> Path:
    """Fill unset variables from the data folder (never overriding what the operator set)."""
    root = data_dir(option)
    if any(os.environ.get(f"{s.env_prefix}ENVIRONMENT") == "production" for s in SERVICES.values()):
        return root
    root.mkdir(parents=True, exist_ok=True)
    if create_keys:
        ensure_dev_keys(root / "keys")
    for key, value in dev_defaults(root).items():
        os.environ.setdefault(key, value)
    return root
