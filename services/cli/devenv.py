"""The embedded default: every unset setting of every service derived from one data folder
(SQLite files, the generated dev key pair). Only in development; production sets everything.

Commands that prepare a platform (`up`, `migrate`, `serve`, `catalogue load`) create the data
folder where they are told (`--data-dir`, `$SUPPORT_DATA_DIR`, else `./var`). Commands that only
use a prepared one (`token`, `billing run`) find it and never create one: a token signed with a
new key pair would be refused by the running services."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from services.registry import EVENT_ROUTES, SERVICES, ServiceSpec
from shared.devkeys import ensure_dev_keys

DATA_DIR_ENV = "SUPPORT_DATA_DIR"
MAILSINK_PORT_ENV = "SUPPORT_MAILSINK_PORT"  # the development mail sink (`supportctl mailsink`)
MAILSINK_PORT = 1025
PAYSANDBOX_PORT_ENV = "PAYSANDBOX_PORT"  # the payment provider's sandbox (`supportctl paysandbox`)
PAYSANDBOX_PORT = 8090


PREPARED_MARKER = Path("keys") / "private.pem"  # the first thing a preparing command writes
PREPARED_DATA_DIR_HELP = ("Data folder of the platform `supportctl up` prepared (default $SUPPORT_DATA_DIR, "
                          "else the nearest var/ from here upwards).")


class NoPlatformData(Exception):
    """No data folder of a prepared platform where a command that only uses one looked."""


def data_dir(option: Path | None) -> Path:
    return (option or Path(os.environ.get(DATA_DIR_ENV, "./var"))).resolve()


def nearest_data_dir(start: Path) -> Path | None:
    """The nearest `var/` holding a platform's keys, from `start` upwards (as git finds `.git`)."""
    for folder in (start, *start.parents):
        if (folder / "var" / PREPARED_MARKER).is_file():
            return folder / "var"
    return None


def working_directory() -> Path:
    """The shell's `$PWD` when it names the working directory (keeping the symlinks the user went
    through, as `pwd` shows), else the physical one."""
    logical = os.environ.get("PWD")
    try:
        if logical and os.path.samefile(logical, "."):
            return Path(logical)
    except OSError:
        pass
    return Path.cwd()


def find_data_dir(option: Path | None) -> Path:
    """The data folder of a prepared platform: `--data-dir`, else `$SUPPORT_DATA_DIR`, else the
    nearest `var/` from the working directory upwards. Creates nothing; NoPlatformData says where
    it looked and how to point it at the right folder."""
    how = "--data-dir DIR or SUPPORT_DATA_DIR=DIR (the folder `supportctl up` prints as `data:`)"
    given, source = (option, "--data-dir") if option else (os.environ.get(DATA_DIR_ENV), f"${DATA_DIR_ENV}")
    if given:
        root = Path(given).resolve()
        if (root / PREPARED_MARKER).is_file():
            return root
        raise NoPlatformData(f"no platform data in {root} (from {source}): {root / PREPARED_MARKER} does not "
                             f"exist. Start the platform with `supportctl up --data-dir {root}`, or name the "
                             f"data folder of the running one with {how}.")
    here = working_directory()
    found = nearest_data_dir(here)
    if found is None:
        raise NoPlatformData(f"no platform data found: no var/{PREPARED_MARKER} in {here} or any folder above "
                             f"it. Run this where `make run` runs (the repository root), or name the data folder "
                             f"with {how}.")
    return found


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


def _production() -> bool:
    return any(os.environ.get(f"{s.env_prefix}ENVIRONMENT") == "production" for s in SERVICES.values())


def apply_dev_defaults(option: Path | None, *, create: bool = True) -> Path:
    """Fill unset variables from the data folder (never overriding what the operator set),
    creating the folder and its dev key pair first (`create`): for commands that prepare a
    platform. `create=False` only fills the variables (for a process that needs no data)."""
    root = data_dir(option)
    if _production():
        return root
    if create:
        root.mkdir(parents=True, exist_ok=True)
        ensure_dev_keys(root / "keys")
    _set_defaults(root)
    return root


def use_dev_defaults(option: Path | None) -> Path:
    """Fill unset variables from the data folder of a prepared platform (find_data_dir), creating
    nothing: for commands that only use one. Raises NoPlatformData."""
    if _production():
        return data_dir(option)
    root = find_data_dir(option)
    _set_defaults(root)
    return root


def prepared_data_dir(option: Path | None, command: str) -> Path:
    """use_dev_defaults for a command line: exit 1 with where it looked and how to point it at the
    right folder (stderr) when there is no prepared platform."""
    try:
        return use_dev_defaults(option)
    except NoPlatformData as exc:
        typer.echo(f"supportctl {command}: {exc}", err=True)
        raise typer.Exit(1) from None


def _set_defaults(root: Path) -> None:
    for key, value in dev_defaults(root).items():
        os.environ.setdefault(key, value)
