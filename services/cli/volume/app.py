"""The `supportctl volume` command group and what its loaders share."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import typer

volume_app = typer.Typer(help="Load volume data for benches and trials.", no_args_is_help=True)


def asyncpg_dsn(url: str) -> str:
    """The PostgreSQL DSN behind a service's database URL; COPY needs PostgreSQL."""
    if not url.startswith("postgresql"):
        raise typer.BadParameter("COPY needs PostgreSQL (postgresql+asyncpg://…)", param_hint="--database-url")
    return url.replace("postgresql+asyncpg://", "postgresql://")


BATCH = 20_000  # items (contracts, tickets) per COPY transaction

Rows = list[tuple[Any, ...]]


async def copy_batches(dsn: str, items: int, columns: dict[str, Sequence[str]],
                       rows_of: Callable[[int, int], Sequence[Rows]]) -> dict[str, int]:
    """COPY `items` items into the tables of `columns` (table → its columns, parents first), BATCH
    items per transaction: `rows_of(start, n)` gives each table's rows, in `columns` order, for
    items start..start+n-1. ANALYZE at the end, so the planner knows the volume. Rows per table."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    counts = dict.fromkeys(columns, 0)
    try:
        # binary COPY: jsonb's binary form is a version byte (1) before the JSON text
        await conn.set_type_codec("jsonb", encoder=lambda v: b"\x01" + v.encode(), decoder=lambda b: json.loads(b[1:]),
                                  schema="pg_catalog", format="binary")
        for start in range(0, items, BATCH):
            batch = rows_of(start, min(BATCH, items - start))
            async with conn.transaction():
                for (table, names), rows in zip(columns.items(), batch):
                    await conn.copy_records_to_table(table, records=rows, columns=list(names))
                    counts[table] += len(rows)
        await conn.execute("; ".join(f"ANALYZE {table}" for table in columns))
    finally:
        await conn.close()
    return counts
