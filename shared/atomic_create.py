"""An idempotent create written in one go: the `Idempotency-Key` record (already holding the
response), the new rows and their outbox events commit together or not at all.

The hot create paths (bench/: ticket creation) spend most of their time in ORM flush and
session machinery, not in the database. A create whose rows are known before anything is
written needs none of it: on PostgreSQL the whole write is **one statement** on a plain asyncpg
connection, data-modifying CTEs chained behind the key's claim

    WITH claim AS (INSERT INTO idempotency_key … ON CONFLICT DO NOTHING RETURNING 1),
         w1 AS (INSERT INTO ticket (…) SELECT $5::text, … WHERE EXISTS (SELECT 1 FROM claim)), …
    SELECT count(*) FROM claim

which is atomic by itself (no BEGIN/COMMIT round trips) and writes nothing when the key is
taken; a concurrent request with the same key waits on the key's primary key and then finds it
taken. The statement text is built once per shape from the tables' metadata and prepared once
per connection. On SQLite the same writes run as plain Core statements in one transaction.

The caller settles a taken key with `shared.web.idempotency.settle_existing` (replay, 422, 409);
`shared.web.create_once` is the create route in one call.
"""

from __future__ import annotations

import json
import re

import orjson
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Sequence

from sqlalchemy import Column, String, Table, and_, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import JSON, TypeDecorator

from shared.db import Database
from shared.infra_models import IdempotencyRecord, OutboxMessage
from shared.outbox import outbox_rows

_PG = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
_KEY_TABLE: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_OUTBOX_TABLE: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Upsert:
    """`ON CONFLICT (index) DO UPDATE SET update…`, only while the existing row's `only_if`
    column holds the given value (None: always), and only when one of `changed` would change
    (empty: always; no new row version for a repeat)."""

    index: tuple[str, ...]
    update: tuple[str, ...]
    only_if: tuple[str, str] | None = None
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    table: Table
    values: dict[str, Any]
    upsert: Upsert | None = None


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    subject: str | None = None


@dataclass(frozen=True)
class Claim:
    """Who asks (owner), under which key, for which request (fingerprint), and the response
    stored under the key when the write happens."""

    owner: str
    key: str
    method: str
    path: str
    fingerprint: str
    status_code: int
    response_body: Any


@dataclass(frozen=True)
class Taken:
    """The key was already used: what was stored under it."""

    fingerprint: str
    method: str
    path: str
    status_code: int | None
    response_body: Any


@dataclass
class Outcome:
    written: bool
    taken: Taken | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # envelopes written
    to_deliver: bool = False  # an event has a sink: wake the relay


class AtomicCreate:
    def __init__(self, db: Database, *, source: str, resolve_sinks: Any) -> None:
        self.db, self.source, self.resolve_sinks = db, source, resolve_sinks

    async def write(self, claim: Claim, rows: Sequence[Row], events: Sequence[Event], now: datetime) -> Outcome:
        key_row = Row(_KEY_TABLE, {"owner": claim.owner, "key": claim.key, "method": claim.method,
                                   "path": claim.path, "fingerprint": claim.fingerprint,
                                   "status_code": claim.status_code, "response_body": claim.response_body,
                                   "created_at": now})
        outcome = Outcome(written=False)
        writes = list(rows)
        for event in events:
            sinks = list(self.resolve_sinks(event.type))
            body, outbox = outbox_rows(event_type=event.type, data=event.data, subject=event.subject,
                                       source=self.source, now=now, sinks=sinks)
            outcome.events.append(body)
            outcome.to_deliver = outcome.to_deliver or bool(sinks)
            writes.extend(Row(_OUTBOX_TABLE, r) for r in outbox)
        if self.db.dialect == "postgresql":
            outcome.written = await self._postgres(key_row, writes)
        else:
            outcome.written = await self._in_transaction(key_row, writes)
        if not outcome.written:
            outcome.events, outcome.to_deliver = [], False
            outcome.taken = await self.taken(claim.owner, claim.key)
        return outcome

    async def taken(self, owner: str, key: str) -> Taken | None:
        """What is stored under a key (None: nothing, e.g. its writer rolled back meanwhile)."""
        stmt = select(_KEY_TABLE.c.fingerprint, _KEY_TABLE.c.method, _KEY_TABLE.c.path, _KEY_TABLE.c.status_code,
                      _KEY_TABLE.c.response_body).where(_KEY_TABLE.c.owner == owner, _KEY_TABLE.c.key == key)
        async with self.db.session() as session:
            found = (await session.execute(stmt)).first()
        return None if found is None else Taken(*found)

    # ---- PostgreSQL: one statement -----------------------------------------------------------

    async def _postgres(self, key_row: Row, writes: list[Row]) -> bool:
        sql = _statement(_shape(key_row, writes))
        args = [*_pg_values(key_row), *(v for row in writes for v in _pg_values(row))]
        async with self.db.read_pool().lease() as conn:
            return bool(await conn.fetchval(sql, *args))

    # ---- elsewhere (SQLite): Core statements in one transaction ------------------------------

    async def _in_transaction(self, key_row: Row, writes: list[Row]) -> bool:
        key_row = Row(key_row.table, {k: orjson.loads(str(v)) if isinstance(v, RawJSON) else v
                                      for k, v in key_row.values.items()})
        async with self.db.transaction() as session:
            claimed = await session.execute(
                sqlite.insert(_KEY_TABLE).values(**key_row.values).on_conflict_do_nothing(
                    index_elements=["owner", "key"]).returning(_KEY_TABLE.c.key))
            if claimed.first() is None:
                return False
            for row in writes:
                await session.execute(core_statement(row, self.db.dialect))
            return True


def core_statement(row: Row, dialect: str) -> Any:
    """The row's INSERT (or upsert) as a Core statement for `dialect` (sqlite or postgresql)."""
    if row.upsert is None:
        return insert(row.table).values(**row.values)
    upsert, table = row.upsert, row.table
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**row.values)
    conditions = []
    if upsert.only_if is not None:
        column, value = upsert.only_if
        conditions.append(table.c[column] == value)
    if upsert.changed:
        conditions.append(or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in upsert.changed)))
    return stmt.on_conflict_do_update(index_elements=list(upsert.index),
                                      set_={c: stmt.excluded[c] for c in upsert.update},
                                      where=and_(*conditions) if conditions else None)


# ---- the PostgreSQL statement, built once per shape ----------------------------------------------

Shape = tuple[tuple[str, tuple[str, ...], Upsert | None], ...]
_TABLES: dict[str, Table] = {}
_STATEMENTS: dict[Shape, str] = {}


def _shape(key_row: Row, writes: list[Row]) -> Shape:
    out = []
    for row in (key_row, *writes):
        _TABLES.setdefault(row.table.name, row.table)
        out.append((row.table.name, tuple(row.values), row.upsert))
    return tuple(out)


def _cast(column: Column[Any]) -> str:
    """The parameter's type: the column's, but strings uncapped (an explicit cast to
    varchar(n) would silently truncate; the column's own length is checked on assignment)."""
    kind = column.type
    if isinstance(kind, TypeDecorator) and isinstance(kind.impl, String):
        return "text"
    if isinstance(kind, String) and not isinstance(kind, JSON):
        return "text"
    return re.sub(r"\(\d+\)", "", kind.compile(dialect=_PG))


def _statement(shape: Shape) -> str:
    found = _STATEMENTS.get(shape)
    if found is not None:
        return found
    params = iter(range(1, 10_000))
    (key_table, key_columns, _), *writes = shape
    table = _TABLES[key_table]
    key_values = ", ".join(f"${next(params)}::{_cast(table.c[c])}" for c in key_columns)
    parts = [f"claim AS (INSERT INTO {key_table} ({', '.join(key_columns)}) VALUES ({key_values}) "
             "ON CONFLICT (owner, key) DO NOTHING RETURNING 1)"]
    for n, (name, columns, upsert) in enumerate(writes, start=1):
        table = _TABLES[name]
        values = ", ".join(f"${next(params)}::{_cast(table.c[c])}" for c in columns)
        sql = f"INSERT INTO {name} ({', '.join(columns)}) SELECT {values} WHERE EXISTS (SELECT 1 FROM claim)"
        if upsert is not None:
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in upsert.update)
            sql += f" ON CONFLICT ({', '.join(upsert.index)}) DO UPDATE SET {sets}"
            conditions = []
            if upsert.only_if is not None:
                column, value = upsert.only_if
                conditions.append(f"{name}.{column} = '{value.replace(chr(39), chr(39) * 2)}'")
            if upsert.changed:
                conditions.append("(" + " OR ".join(f"{name}.{c} IS DISTINCT FROM EXCLUDED.{c}"
                                                    for c in upsert.changed) + ")")
            if conditions:
                sql += " WHERE " + " AND ".join(conditions)
        parts.append(f"w{n} AS ({sql})")
    found = _STATEMENTS[shape] = "WITH " + ",\n".join(parts) + "\nSELECT count(*) FROM claim"
    return found


_PROCESSORS: dict[tuple[str, str], Callable[[Any], Any] | None] = {}


def _processor(table: Table, name: str) -> Callable[[Any], Any] | None:
    """The column's bind processing as SQLAlchemy's asyncpg dialect does it (UTC datetimes,
    money in grosze, JSON as text), looked up once."""
    key = (table.name, name)
    if key not in _PROCESSORS:
        kind = table.c[name].type
        _PROCESSORS[key] = kind.dialect_impl(_PG).bind_processor(_PG)
    return _PROCESSORS[key]


def _pg_values(row: Row) -> list[Any]:
    out = []
    for name, value in row.values.items():
        if value is None or isinstance(value, RawJSON):
            out.append(value)
        elif _is_json(row.table, name):
            out.append(_json_text(value))
        else:
            process = _processor(row.table, name)
            out.append(value if process is None else process(value))
    return out


class RawJSON(str):
    """A value already serialised as JSON text (written to a JSON column as is)."""


_JSON_COLUMNS: dict[tuple[str, str], bool] = {}


def _is_json(table: Table, name: str) -> bool:
    key = (table.name, name)
    if key not in _JSON_COLUMNS:
        _JSON_COLUMNS[key] = isinstance(table.c[name].type, JSON)
    return _JSON_COLUMNS[key]


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a type orjson does not know: as SQLAlchemy would
        return json.dumps(value)
