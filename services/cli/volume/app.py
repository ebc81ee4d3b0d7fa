"""The `supportctl volume` command group and what its loaders share."""

from __future__ import annotations

import typer

volume_app = typer.Typer(help="Load volume data for benches and trials.", no_args_is_help=True)


def asyncpg_dsn(url: str) -> str:
    """The PostgreSQL DSN behind a service's database URL; COPY needs PostgreSQL."""
    if not url.startswith("postgresql"):
        raise typer.BadParameter("COPY needs PostgreSQL (postgresql+asyncpg://…)", param_hint="--database-url")
    return url.replace("postgresql+asyncpg://", "postgresql://")
