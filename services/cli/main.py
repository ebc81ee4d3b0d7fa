"""`supportctl`: the platform's command line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from services import registry
from services.cli.billing import billing_app
from services.cli.contracts import contracts_app
from services.cli.volume import volume_app
from services.cli.devenv import (
    PREPARED_DATA_DIR_HELP, apply_dev_defaults, mailsink_port, nearest_data_dir, paysandbox_port, prepared_data_dir,
    working_directory,
)
from services.cli.devenv import data_dir as resolve_data_dir
from shared.roles import ROLES

app = typer.Typer(help="Run, migrate and operate the support-contracts platform.", no_args_is_help=True,
                  add_completion=False)
catalogue_app = typer.Typer(help="Catalogue operations.", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(billing_app, name="billing")
app.add_typer(contracts_app, name="contracts")
app.add_typer(volume_app, name="volume")
console = Console(stderr=True, soft_wrap=True)

DataDir = typer.Option(None, "--data-dir", help="Data folder of the embedded default (default ./var or $SUPPORT_DATA_DIR).")
PreparedDataDir = typer.Option(None, "--data-dir", help=PREPARED_DATA_DIR_HELP)
REPO_ROOT = Path(__file__).resolve().parents[2]


def _specs(service: str | None) -> list[registry.ServiceSpec]:
    if service is None:
        return list(registry.SERVICES.values())
    try:
        return [registry.get(service)]
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from None


def _migrate(specs: list[registry.ServiceSpec]) -> None:
    from shared.migrations import upgrade

    for spec in specs:
        settings = spec.settings_class()()
        upgrade(spec.migrations, settings.database_url)
        console.print(f"migrated [bold]{spec.name}[/bold] → head")


def _load_catalogue(path: Path) -> str:
    from services.entitlements.main import create_app  # noqa: F401 - registers models
    from services.entitlements.service.catalogue import CatalogueService, read_catalogue_file
    from services.entitlements.settings import EntitlementsSettings
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.outbox import OutboxWriter, sinks_for
    from shared.uow import UnitOfWork
    from shared.standard_webhooks import webhooks_for

    settings = EntitlementsSettings()
    data = read_catalogue_file(path)

    async def _run() -> str:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                clock = SystemClock()
                sinks = lambda t: sinks_for(t, settings.event_sinks) + webhooks_for(t, settings.webhooks)  # noqa: E731
                uow = UnitOfWork(session, clock, OutboxWriter(session, clock, settings.service_name, sinks))
                report = await CatalogueService(uow, notice_months=settings.terms_notice_months).load(data)
        finally:
            await db.dispose()
        return (f"{report.products} products; published {len(report.plans_published)} plan versions; "
                f"{len(report.plans_unchanged)} unchanged")

    return asyncio.run(_run())


@app.command()
def up(data_dir: Optional[Path] = DataDir) -> None:
    """Run every service on its default port (the embedded default: SQLite, dev keys, demo catalogue)."""
    from services.cli.supervisor import Child, Supervisor
    from services.entitlements.service.catalogue import DEFAULT_CATALOGUE

    root = apply_dev_defaults(data_dir)
    _migrate(list(registry.SERVICES.values()))
    console.print(f"catalogue: {_load_catalogue(DEFAULT_CATALOGUE)}")
    children = [Child(spec.name, int(os.environ[f"{spec.env_prefix}PORT"])) for spec in registry.SERVICES.values()]
    if "tickets" in registry.SERVICES:  # where the tickets service's outgoing mail lands in development
        sink = mailsink_port()
        children.append(Child("mailsink", sink, args=["mailsink", "--dir", str(root / "mail"), "--port", str(sink)],
                              probe="tcp"))
    if "billing" in registry.SERVICES:  # the payment provider, as a sandbox (outside the system)
        children.append(Child("paysandbox", paysandbox_port(), args=["paysandbox", "--port", str(paysandbox_port())],
                              probe="tcp"))

    def ready() -> None:
        console.print("\n[bold green]The platform is up.[/bold green]")
        for spec in registry.SERVICES.values():
            port = os.environ[f"{spec.env_prefix}PORT"]
            console.print(f"  {spec.name:<13} http://127.0.0.1:{port}   docs: http://127.0.0.1:{port}/docs")
        if "tickets" in registry.SERVICES:
            tickets = registry.get("tickets").settings_class()()
            if tickets.smtp_listen_port > 0:
                console.print(f"  mail in:      smtp://{tickets.smtp_listen_host}:{tickets.smtp_listen_port}   "
                              f"for {tickets.support_mailbox}")
            console.print(f"  mail out:     {root / 'mail'}/*.eml   (sink on smtp://127.0.0.1:{mailsink_port()})")
        if "billing" in registry.SERVICES:
            console.print(f"  payments:     http://127.0.0.1:{paysandbox_port()}   (sandbox: test cards and IBANs in "
                          "services/paysandbox/scenarios.py)")
        console.print(f"\n  data: {root}")
        found_from_here = nearest_data_dir(working_directory()) == root  # where `token` would look
        pointer = "" if found_from_here else f" --data-dir {root}"
        console.print(f"  a token:  TOKEN=$(.venv/bin/supportctl token --role shop{pointer})")
        first = os.environ[f"{registry.get('entitlements').env_prefix}PORT"]
        console.print(f"  then:     curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:{first}/v1/products")
        console.print("  Ctrl-C stops everything.\n")

    raise typer.Exit(Supervisor(children, console).run(ready))


@app.command()
def paysandbox(host: str = typer.Option("127.0.0.1", help="Bind address."),
               port: int = typer.Option(8090, help="HTTP port."),
               data_dir: Optional[Path] = DataDir) -> None:
    """The payment provider's sandbox (development): charges by test card or IBAN, signed webhooks."""
    import uvicorn

    from services.paysandbox.app import SandboxSettings, create_app

    apply_dev_defaults(data_dir, create=False)  # its webhook URL; it needs no data folder
    uvicorn.run(create_app(SandboxSettings()), host=host, port=port, log_level="warning")


@app.command()
def mailsink(folder: Optional[Path] = typer.Option(None, "--dir", help="Folder for the .eml files "
                                                                      "(default DATA_DIR/mail)."),
             host: str = typer.Option("127.0.0.1", help="Bind address."),
             port: int = typer.Option(1025, help="SMTP port."),
             data_dir: Optional[Path] = DataDir) -> None:
    """Development mail sink: an SMTP server that writes every message it gets as an .eml file."""
    from services.cli.mailsink import serve as serve_sink

    asyncio.run(serve_sink(folder or resolve_data_dir(data_dir) / "mail", host, port))


@app.command()
def serve(service: str = typer.Argument(..., help="entitlements | tickets | billing"),
          host: Optional[str] = typer.Option(None, help="Bind address (default from settings)."),
          port: Optional[int] = typer.Option(None, help="Port (default from settings).")) -> None:
    """Serve one service with uvicorn (settings from its environment variables)."""
    import uvicorn

    spec = _specs(service)[0]
    apply_dev_defaults(None)
    settings = spec.settings_class()()
    from shared.logs import configure_logging

    configure_logging(spec.name, settings.log_level, settings.log_format)
    application = spec.app_factory()(settings)
    uvicorn.run(application, host=host or settings.host, port=port or settings.port, log_config=None,
                proxy_headers=True, timeout_graceful_shutdown=10)


@app.command()
def migrate(service: Optional[str] = typer.Argument(None, help="One service; default all."),
            data_dir: Optional[Path] = DataDir) -> None:
    """Apply the database migrations of one service or all."""
    apply_dev_defaults(data_dir)
    _migrate(_specs(service))


@app.command()
def openapi(out: Path = typer.Option(REPO_ROOT / "openapi", help="Folder for <service>.json.")) -> None:
    """Write every service's OpenAPI document to openapi/<service>.json."""
    from services.openapi_docs import render

    out.mkdir(parents=True, exist_ok=True)
    for spec in registry.SERVICES.values():
        target = out / f"{spec.name}.json"
        target.write_text(render(spec))
        console.print(f"wrote {target}")


@catalogue_app.command("load")
def catalogue_load(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
                   data_dir: Optional[Path] = DataDir) -> None:
    """Load a catalogue file into the entitlements database (idempotent; versions changed plans)."""
    apply_dev_defaults(data_dir)
    console.print(_load_catalogue(file))


@app.command()
def token(role: str = typer.Option(..., help=f"One of: {', '.join(ROLES)}"),
          sub: Optional[str] = typer.Option(None, help="Subject (default: dev-<role>)."),
          customer_id: Optional[str] = typer.Option(None, "--customer-id", help="Required for --role customer."),
          ttl: int = typer.Option(3600, help="Lifetime in seconds."),
          data_dir: Optional[Path] = PreparedDataDir) -> None:
    """Print a development JWT, alone, on stdout, signed with the key of the platform whose data
    folder it finds (--data-dir, $SUPPORT_DATA_DIR, else the nearest var/ upwards); never creates one."""
    from shared.devkeys import DEV_KID, mint_token

    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}; one of {', '.join(ROLES)}", param_hint="--role")
    if role == "customer" and not customer_id:
        raise typer.BadParameter("a customer token needs --customer-id", param_hint="--customer-id")
    root = prepared_data_dir(data_dir, "token")
    settings = registry.get("entitlements").settings_class()()
    pem = (root / "keys" / "private.pem").read_text()
    sys.stdout.write(mint_token(pem, kid=DEV_KID, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                subject=sub or f"dev-{role}", role=role, customer_id=customer_id, ttl=ttl) + "\n")


@app.command()
def keys(folder: Path = typer.Argument(..., help="Where to write private.pem and jwks.json."),
         kid: str = typer.Option("dev", help="Key id written into the JWKS and token headers.")) -> None:
    """Generate an RS256 key pair and its JWKS (development and test clusters only)."""
    from shared.devkeys import ensure_dev_keys

    private, jwks = ensure_dev_keys(folder, kid=kid)
    console.print(f"private key: {private}\njwks: {jwks}")


if __name__ == "__main__":
    app()
