"""The `supportctl volume` command group and what its loaders share: the DSN check and the
batched binary COPY (jsonb codec, one transaction per batch, ANALYZE at the end)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import typer

volume_app = typer.Typer(help="Load volume data for benches and trials.", no_args_is_help=True)

BATCH = 20_000  # items (contracts, tickets) per COPY transaction; also the draw's seeding step (contracts.py)

Rows = list[tuple[Any, ...]]
# (table, columns, records) of one batch, in the order they are copied (foreign keys first)
TableRows = tuple[str, Sequence[str], list[tuple[Any, ...]]]


def asyncpg_dsn(url: str) -> str:
    """The PostgreSQL DSN behind a service's database URL; COPY needs PostgreSQL."""
    if not url.startswith("postgresql"):
        raise typer.BadParameter("COPY needs PostgreSQL (postgresql+asyncpg://…)", param_hint="--database-url")
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def connect(dsn: str) -> Any:
    """An asyncpg connection whose binary COPY takes jsonb as JSON text."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    # binary COPY: jsonb's binary form is a version byte (1) before the JSON text
    await conn.set_type_codec("jsonb", encoder=lambda v: b"\x01" + v.encode(), decoder=lambda b: json.loads(b[1:]),
                              schema="pg_catalog", format="binary")
    return conn


async def copy_in_batches(dsn: str, items: int, batch_rows: Callable[[int, int], Sequence[TableRows]]
                          ) -> dict[str, int]:
    """COPY `batch_rows(start, n)` for every batch of BATCH items (contracts, tickets), each batch in one
    transaction; then ANALYZE the tables, so the planner knows their size at once. Rows per table."""
    conn = await connect(dsn)
    counts: dict[str, int] = {}
    try:
        for start in range(0, items, BATCH):
            tables = batch_rows(start, min(BATCH, items - start))
            async with conn.transaction():
                for table, columns, records in tables:
                    await conn.copy_records_to_table(table, records=records, columns=columns)
                    counts[table] = counts.get(table, 0) + len(records)
        await conn.execute("; ".join(f"ANALYZE {table}" for table in counts))
    finally:
        await conn.close()
    return counts
