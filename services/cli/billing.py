"""`supportctl billing …`: the monthly billing run from the command line, with a progress bar.

It works on the billing database directly (like `migrate`), contract by contract, in the same
code as `POST /v1/billing-runs`; the running billing service's relay delivers the events and its
charge runner submits the charges.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.cli.devenv import PREPARED_DATA_DIR_HELP, prepared_data_dir


billing_app = typer.Typer(help="Billing operations.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


def _as_of(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 instant", param_hint="--as-of") from None
    if value.tzinfo is None:
        raise typer.BadParameter("give the time zone, e.g. 2026-11-30T12:00:00+01:00", param_hint="--as-of")
    return value


@billing_app.command("run")
def billing_run(period: str = typer.Option(..., help="The month to invoice, YYYY-MM."),
                as_of: str = typer.Option(..., "--as-of", help="The instant the run is for (ISO 8601 with zone)."),
                data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=PREPARED_DATA_DIR_HELP)) -> None:
    """Invoice every active contract for PERIOD (idempotent; charges follow R-B4's window)."""
    from services.billing.main import create_app  # noqa: F401 - registers the models
    from services.billing.service.runs import BillingRun
    from services.billing.settings import BillingSettings
    from shared.errors import DomainError
    from shared.runtime import Runtime

    prepared_data_dir(data_dir, "billing run")
    instant = _as_of(as_of)
    settings = BillingSettings()

    async def _run() -> None:
        runtime = Runtime(settings)
        try:
            with Progress(TextColumn("[bold]billing run {task.fields[period]}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                task = bar.add_task("contracts", total=None, period=period)
                result = await BillingRun(runtime, settings).run(
                    period, instant, progress=lambda done, total: bar.update(task, completed=done, total=total))
        finally:
            await runtime.db.dispose()
        console.print(f"{len(result.invoiced)} invoiced, {result.already_invoiced} already invoiced, "
                      f"{result.not_in_term} outside their term; charges: {result.charges_now} now, "
                      f"{result.charges_scheduled} scheduled for the window, {result.charges_manual} left to the "
                      "customer (window over)")
        for number in result.invoiced:
            typer.echo(number)

    try:
        asyncio.run(_run())
    except DomainError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None


@billing_app.command("reprice")
def billing_reprice(apply: bool = typer.Option(False, "--apply", help="Write the corrections (default: only show "
                                                                     "them, nothing is kept)."),
                    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=PREPARED_DATA_DIR_HELP)) -> None:
    """Rebuild the price schedule of contracts upgraded before billing kept one (from entitlements'
    history) and correct months billed twice with credit notes (R-B7, R-B10). Needs entitlements."""
    from services.billing.main import create_app  # noqa: F401 - registers the models
    from services.billing.service.repricing import reprice_legacy_accounts
    from services.billing.settings import BillingSettings
    from shared.runtime import Runtime

    prepared_data_dir(data_dir, "billing reprice")
    settings = BillingSettings()

    async def _run() -> None:
        runtime = Runtime(settings)
        try:
            repairs = await reprice_legacy_accounts(runtime, settings, apply=apply)
        finally:
            await runtime.db.dispose()
        for repair in repairs:
            steps = ", ".join(f"{plan} {price:.2f} from {on.isoformat()}" for plan, price, on in repair.schedule)
            console.print(f"{repair.contract_id}: {steps}")
            for number, purpose, net in repair.issued:
                typer.echo(f"{repair.contract_id}\t{number}\t{purpose}\t{net:.2f}")
        issued = sum(len(r.issued) for r in repairs)
        console.print(f"{len(repairs)} contracts repriced, {issued} documents "
                      + ("issued" if apply else "would be issued (nothing kept; run with --apply)"))

    asyncio.run(_run())
