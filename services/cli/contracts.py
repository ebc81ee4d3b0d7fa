"""`supportctl contracts …`: the daily expiry run from the command line.

It works on the entitlements database directly (like `billing run` on billing's), in the same code
as `POST /v1/contracts/expire-run`; the running entitlements replicas relay the events.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from services.cli.devenv import PREPARED_DATA_DIR_HELP, prepared_data_dir

contracts_app = typer.Typer(help="Contract operations.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


def _day(text: str | None) -> date:
    from shared.clock import local_date

    if text is None:
        return local_date(datetime.now(timezone.utc))  # today in the business time zone
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD", param_hint="--as-of") from None


@contracts_app.command("expire")
def contracts_expire(as_of: Optional[str] = typer.Option(None, "--as-of", help="The day, YYYY-MM-DD (default: today, "
                                                                             "Europe/Warsaw)."),
                     data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=PREPARED_DATA_DIR_HELP)) -> None:
    """End contracts past their term and apply scheduled terminations (R-E1), chunk by chunk: the
    daily CronJob (k8s/base/batch)."""
    from services.entitlements.main import create_app  # noqa: F401 - registers the models
    from services.entitlements.service.expiry import expire_run
    from services.entitlements.settings import EntitlementsSettings
    from shared.runtime import Runtime

    prepared_data_dir(data_dir, "contracts expire")
    day = _day(as_of)
    settings = EntitlementsSettings()

    async def _run() -> None:
        runtime = Runtime(settings)
        try:
            result = await expire_run(runtime, day, "supportctl")
        finally:
            await runtime.db.dispose()
        console.print(f"expiry as of {day.isoformat()}: {len(result.expired)} expired, "
                      f"{len(result.terminated)} terminated")

    asyncio.run(_run())
