"""Small query helpers every service's repository and service use, so each shape is written once:

- `one_row`: one row by its key (or any criteria), optionally locked `FOR UPDATE`;
- `keyset_page`: a filtered keyset page (`WHERE key > after ORDER BY key LIMIT limit + 1`) and the
  key to pass as the next page's `after` (None at the end);
- `found`: the row fetched, or the caller's not-found error when there is none or the principal may
  not see it (the same error either way: no existence leak).

No web framework here: the routes turn the page into their `Page` schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.auth import Principal
from shared.errors import DomainError

T = TypeVar("T")


async def one_row(session: AsyncSession, model: type[T], *where: ColumnElement[bool], for_update: bool = False,
                  options: Iterable[Any] = (), fresh: bool = False) -> T | None:
    """The one row of `model` matching `where` (None: there is none). `for_update` locks it
    until the unit of work ends; `fresh` reloads it even when the session already holds it."""
    stmt = select(model).where(*where).options(*options)
    if for_update:
        stmt = stmt.with_for_update()
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    rows: list[T]
    next_after: str | None  # pass as `after` for the next page; None: this is the last one


async def keyset_page(session: AsyncSession, model: type[T], key: InstrumentedAttribute[Any], *,
                      after: str | None, limit: int, newest_first: bool = False,
                      where: Iterable[ColumnElement[bool]] = (), options: Iterable[Any] = (),
                      **equal_if_given: Any) -> KeysetPage[T]:
    """Up to `limit` rows of `model` in `key` order (descending when `newest_first`), starting
    after `after`. `equal_if_given`: column name → value, a filter only when the value is not
    None (`customer_id=None` lists everyone's); `where`: further criteria, always applied."""
    stmt = select(model).where(*where).options(*options)
    for name, value in equal_if_given.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    if after is not None:
        stmt = stmt.where(key < after if newest_first else key > after)
    stmt = stmt.order_by(key.desc() if newest_first else key).limit(limit + 1)
    rows: Sequence[T] = (await session.execute(stmt)).scalars().all()
    page = list(rows[:limit])
    return KeysetPage(page, getattr(page[-1], key.key) if len(rows) > limit else None)


def found(row: T | None, error: DomainError, *, seen_by: Principal | None = None,
          visible: Callable[[T], bool] | None = None) -> T:
    """`row`, or raise `error` when it is None, when `seen_by` is a customer's principal and the
    row (its `customer_id`) is another customer's, or when `visible(row)` is false."""
    if (row is None or (seen_by is not None and not seen_by.may_see(row.customer_id))  # type: ignore[attr-defined]
            or (visible is not None and not visible(row))):
        raise error
    return row
