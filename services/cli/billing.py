"""`supportctl billing …`: the monthly billing run from the command line, with a progress bar.

It works on the billing database directly (like `migrate`), in the same code as
`POST /v1/billing-runs`: it starts the run and is one more worker of its chunks, beside the running
billing replicas; their relay delivers the events and their charge runner submits the charges.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
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


def _month_of(instant: datetime) -> str:
    """The billing period (R-B11: a calendar month) an instant falls in, in the business time zone."""
    from shared.clock import local_date

    return local_date(instant).strftime("%Y-%m")


@billing_app.command("run")
def billing_run(period: Optional[str] = typer.Option(None, help="The month to invoice, YYYY-MM (default: the "
                                                                 "month --as-of falls in, Europe/Warsaw)."),
                as_of: Optional[str] = typer.Option(None, "--as-of", help="The instant the run is for (ISO 8601 "
                                                                           "with zone; default: now)."),
                data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=PREPARED_DATA_DIR_HELP)) -> None:
    """Invoice every active contract for PERIOD (idempotent; charges follow R-B4's window): starts
    the run (or joins the one running), works on its chunks beside the billing replicas, and draws
    its progress from the run's record. Without options it bills the current month now, as the
    month-end CronJob does on the 1st (k8s/base/batch)."""
    from services.billing.main import create_app  # noqa: F401 - registers the models
    from services.billing.service.run_worker import RunWorker
    from services.billing.service.runs import BillingRuns
    from services.billing.settings import BillingSettings
    from shared.errors import DomainError
    from shared.runtime import Runtime

    prepared_data_dir(data_dir, "billing run")
    instant = _as_of(as_of) if as_of else datetime.now(timezone.utc)
    period = period or _month_of(instant)
    settings = BillingSettings()

    async def _run() -> None:
        runtime = Runtime(settings)
        try:
            runs = BillingRuns(runtime, settings)
            run = await runs.start(period, instant, requested_by="supportctl")
            worker = RunWorker(runtime, settings, name=f"supportctl:{run.id}")
            with Progress(TextColumn("[bold]billing run {task.fields[period]}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                task = bar.add_task("contracts", total=run.total, period=period)
                while True:
                    report = await runs.wait(run.id, 0.5, worker)
                    bar.update(task, completed=report.done, total=max(run.total, report.done))
                    if report.finished:
                        break
        finally:
            await runtime.db.dispose()
        f = report.figures
        console.print(f"run {run.id}: {f.invoiced} invoiced, {f.already_invoiced} already invoiced, "
                      f"{f.not_in_term} outside their term, {f.failed} failed; charges: {f.charges_now} now, "
                      f"{f.charges_scheduled} scheduled for the window, {f.charges_manual} left to the customer "
                      "(window over)")
        for failure in report.failures:
            console.print(f"[red]failed[/red] {failure.contract_id}: {failure.reason}")

    try:
        asyncio.run(_run())
    except DomainError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None


@billing_app.command("dunning")
def billing_dunning(as_of: Optional[str] = typer.Option(None, "--as-of", help="The instant the run is for (ISO 8601 "
                                                                             "with zone; default: now)."),
                    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=PREPARED_DATA_DIR_HELP)) -> None:
    """Flag late payers per contract (R-B5, R-B6), the code behind `POST /v1/dunning-runs`, on the
    billing database directly; the running billing replicas relay the events. The daily CronJob."""
    from services.billing.main import create_app  # noqa: F401 - registers the models
    from services.billing.service.dunning import DunningRun
    from services.billing.settings import BillingSettings
    from shared.runtime import Runtime

    prepared_data_dir(data_dir, "billing dunning")
    instant = _as_of(as_of) if as_of else datetime.now(timezone.utc)
    settings = BillingSettings()

    async def _run() -> None:
        runtime = Runtime(settings)
        try:
            result = await DunningRun(runtime, settings).run(instant)
        finally:
            await runtime.db.dispose()
        console.print(f"dunning as of {instant.isoformat()}: {len(result.overdue)} overdue, "
                      f"{len(result.terminable)} terminable, {len(result.settled)} settled")

    asyncio.run(_run())


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
