"""Many rows into one table inside the unit of work's transaction, as fast as the database takes
them: PostgreSQL's binary COPY on the session's own connection (the rows commit or roll back
with everything else), a multi-row INSERT elsewhere (SQLite).

Rows are dicts of Python values as the models hold them (Decimal money, aware datetimes, dicts
for JSON); each column's own bind processing (the `TypeDecorator`s of shared/columns.py, JSON
serialisation) turns them into what the database stores, exactly as an INSERT would. Every row
has the same keys; columns left out take their defaults (the column's scalar default, or the
database's: an autoincrement id).

Batch work (the billing run's chunks) writes thousands of rows per transaction, where an ORM
object, or even a compiled multi-row INSERT, costs more per row than the database itself.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable, Sequence

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

Processor = Callable[[Any], Any] | None
_processors: dict[tuple[str, str, tuple[str, ...]], list[Processor]] = {}


def _column_processors(table: Table, names: tuple[str, ...], dialect: Any) -> list[Processor]:
    key = (dialect.name, table.name, names)
    if key not in _processors:
        _processors[key] = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    return _processors[key]


async def insert_many(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        await session.execute(insert(table), list(rows))
        return
    given = tuple(rows[0])
    # COPY knows only the database's defaults: the columns' own (Python-side) scalar defaults are added
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in given and c.default is not None and c.default.is_scalar}
    names = given + tuple(defaults)
    processed = [(i, p) for i, p in enumerate(_column_processors(table, names, dialect)) if p is not None]
    tail, get = list(defaults.values()), itemgetter(*given)
    records = []
    for row in rows:
        values = [*get(row), *tail] if len(given) > 1 else [get(row), *tail]
        for i, process in processed:
            if values[i] is not None:
                values[i] = process(values[i])
        records.append(tuple(values))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table.name, records=records, columns=list(names))
