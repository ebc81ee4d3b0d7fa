"""Queries of the entitlements service (SQLAlchemy 2 `select()`); no rules here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.queries import KeysetPage, keyset_page, one_row
from shared.readpool import ReadPool
from services.entitlements.models import (
    LIVE_STATUSES, Contract, ContractHistory, DataDisposition, Licence, PlanVersion, Product, UsageRecord,
)


async def get_product(session: AsyncSession, product_id: str) -> Product | None:
    return await session.get(Product, product_id)


async def list_products(session: AsyncSession) -> Sequence[Product]:
    return (await session.execute(select(Product).order_by(Product.id))).scalars().all()


async def products_for_licence(session: AsyncSession, licence_product: str) -> Sequence[Product]:
    stmt = select(Product).where(Product.licence_product == licence_product).order_by(Product.id)
    return (await session.execute(stmt)).scalars().all()


async def latest_plan(session: AsyncSession, plan_id: str) -> PlanVersion | None:
    stmt = select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.version.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def plan_version(session: AsyncSession, plan_id: str, version: int) -> PlanVersion | None:
    return await session.get(PlanVersion, (plan_id, version))


async def latest_plans(session: AsyncSession, product_id: str | None = None) -> Sequence[PlanVersion]:
    newest = (select(PlanVersion.plan_id, func.max(PlanVersion.version).label("v"))
              .group_by(PlanVersion.plan_id).subquery())
    stmt = (select(PlanVersion)
            .join(newest, and_(PlanVersion.plan_id == newest.c.plan_id, PlanVersion.version == newest.c.v))
            .order_by(PlanVersion.product_id, PlanVersion.rank))
    if product_id is not None:
        stmt = stmt.where(PlanVersion.product_id == product_id)
    return (await session.execute(stmt)).scalars().all()


async def effective_plan(session: AsyncSession, plan_id: str, bought_version: int, at: datetime) -> PlanVersion | None:
    """The version whose terms govern a contract at `at` (R-E6): the newest version at or above
    the one bought that already applies to existing contracts."""
    stmt = (select(PlanVersion)
            .where(PlanVersion.plan_id == plan_id, PlanVersion.version >= bought_version,
                   PlanVersion.applies_to_existing_from <= at)
            .order_by(PlanVersion.version.desc()).limit(1))
    found = (await session.execute(stmt)).scalar_one_or_none()
    return found or await plan_version(session, plan_id, bought_version)


async def licence_by_ref(session: AsyncSession, product: str, reference: str) -> Licence | None:
    stmt = select(Licence).where(Licence.product == product, Licence.reference == reference)
    return (await session.execute(stmt)).scalar_one_or_none()


async def licences_of(session: AsyncSession, customer_id: str, product: str | None = None) -> Sequence[Licence]:
    stmt = select(Licence).where(Licence.customer_id == customer_id)
    if product is not None:
        stmt = stmt.where(Licence.product == product)
    return (await session.execute(stmt.order_by(Licence.id))).scalars().all()


async def licences_by_id(session: AsyncSession, licence_ids: Sequence[str]) -> dict[str, Licence]:
    """The licences with these ids, in one query (a page of contracts, not one query per row)."""
    if not licence_ids:
        return {}
    stmt = select(Licence).where(Licence.id.in_(set(licence_ids)))
    return {licence.id: licence for licence in (await session.execute(stmt)).scalars().all()}


async def get_contract(session: AsyncSession, contract_id: str, *, for_update: bool = False) -> Contract | None:
    return await one_row(session, Contract, Contract.id == contract_id, for_update=for_update)


async def live_contract(session: AsyncSession, licence_id: str, product_id: str) -> Contract | None:
    stmt = select(Contract).where(Contract.licence_id == licence_id, Contract.product_id == product_id,
                                  Contract.status.in_(LIVE_STATUSES))
    return (await session.execute(stmt)).scalar_one_or_none()


async def live_contracts_on_licences(session: AsyncSession, licence_ids: Sequence[str]) -> Sequence[Contract]:
    if not licence_ids:
        return []
    stmt = select(Contract).where(Contract.licence_id.in_(licence_ids), Contract.status.in_(LIVE_STATUSES))
    return (await session.execute(stmt)).scalars().all()


async def list_contracts(session: AsyncSession, *, customer_id: str | None, status: str | None,
                         after: str | None, limit: int) -> KeysetPage[Contract]:
    return await keyset_page(session, Contract, Contract.id, after=after, limit=limit,
                             customer_id=customer_id, status=status)


async def contracts_due_to_end(session: AsyncSession, as_of: date, *, scheduled: bool, limit: int
                               ) -> Sequence[Contract]:
    """A chunk of live contracts due to end by `as_of`, claimed with SKIP LOCKED so several
    replicas share a run: with `scheduled`, those whose scheduled termination is due
    (`ix_contract_live_termination_scheduled`), else those whose term ended before `as_of`
    (`ix_contract_live_ends_on`). Both are index ranges, in index order."""
    live = Contract.status.in_(LIVE_STATUSES)
    if scheduled:
        column = Contract.termination_scheduled_on
        stmt = select(Contract).where(live, column.is_not(None), column <= as_of)
    else:
        column = Contract.ends_on
        stmt = select(Contract).where(live, column < as_of)
    stmt = stmt.order_by(column, Contract.id).limit(limit).with_for_update(skip_locked=True)
    return (await session.execute(stmt)).scalars().all()


async def live_contracts_on_plan(session: AsyncSession, plan_id: str) -> Sequence[Contract]:
    stmt = select(Contract).where(Contract.plan_id == plan_id, Contract.status.in_(LIVE_STATUSES))
    return (await session.execute(stmt.order_by(Contract.id))).scalars().all()


async def history(session: AsyncSession, contract_id: str) -> Sequence[ContractHistory]:
    stmt = select(ContractHistory).where(ContractHistory.contract_id == contract_id).order_by(ContractHistory.id)
    return (await session.execute(stmt)).scalars().all()


async def usage_by_event(session: AsyncSession, contract_id: str, event_id: str) -> UsageRecord | None:
    stmt = select(UsageRecord).where(UsageRecord.contract_id == contract_id, UsageRecord.event_id == event_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def usage_sums(session: AsyncSession, contract_id: str, period_keys: dict[str, str]) -> dict[str, int]:
    """Quantity used per metric in the given period of each metric."""
    if not period_keys:
        return {}
    stmt = (select(UsageRecord.metric, UsageRecord.period_key, func.sum(UsageRecord.quantity))
            .where(UsageRecord.contract_id == contract_id, UsageRecord.metric.in_(list(period_keys)))
            .group_by(UsageRecord.metric, UsageRecord.period_key))
    out = {metric: 0 for metric in period_keys}
    for metric, period_key, total in (await session.execute(stmt)).all():
        if period_keys.get(metric) == period_key:
            out[metric] = int(total or 0)
    return out


async def get_disposition(session: AsyncSession, contract_id: str) -> DataDisposition | None:
    return await session.get(DataDisposition, contract_id)


async def list_dispositions(session: AsyncSession, *, customer_id: str | None, overdue_on: date | None,
                            open_only: bool) -> Sequence[DataDisposition]:
    stmt = select(DataDisposition)
    if customer_id is not None:
        stmt = stmt.where(DataDisposition.customer_id == customer_id)
    if open_only or overdue_on is not None:
        stmt = stmt.where(DataDisposition.completed_on.is_(None))
    if overdue_on is not None:
        stmt = stmt.where(DataDisposition.due_on < overdue_on)
    return (await session.execute(stmt.order_by(DataDisposition.due_on, DataDisposition.contract_id))).scalars().all()


async def licences_with_live_contracts(session: AsyncSession, customer_id: str, licence_product: str | None = None
                                       ) -> list[tuple[Licence, list[Contract]]]:
    """A customer's licences, each with its live contracts, in one query (the hot path)."""
    stmt = (select(Licence, Contract)
            .outerjoin(Contract, and_(Contract.licence_id == Licence.id, Contract.status.in_(LIVE_STATUSES)))
            .where(Licence.customer_id == customer_id)
            .order_by(Licence.id))
    if licence_product is not None:
        stmt = stmt.where(Licence.product == licence_product)
    out: dict[str, tuple[Licence, list[Contract]]] = {}
    for licence, contract in (await session.execute(stmt)).all():
        entry = out.setdefault(licence.id, (licence, []))
        if contract is not None:
            entry[1].append(contract)
    return list(out.values())


# ---- the hot path: facts for one entitlement check, without the ORM ------------------------------

assert LIVE_STATUSES == ("pending_payment", "active", "suspended")  # spelled out in _CHECK_SQL
_CHECK_SQL = """
SELECT l.customer_id, l.id, l.reference, c.id, c.status, c.plan_id, c.plan_version
FROM licence AS l
LEFT JOIN contract AS c
  ON c.licence_id = l.id AND c.product_id = $3 AND c.status IN ('pending_payment', 'active', 'suspended')
WHERE l.customer_id = ANY($1::text[]) AND l.product = $2
ORDER BY l.customer_id, l.id
"""

CheckKey = tuple[str, str, str]  # (customer_id, licence_product, product_id)


async def check_rows_raw_many(pool: ReadPool, keys: list[CheckKey]) -> dict[CheckKey, list[tuple[Any, ...]]]:
    """PostgreSQL: the rows of many checks, one prepared statement per (licence product, product)
    pair — in practice one query for a whole batch of customers."""
    groups: dict[tuple[str, str], list[str]] = {}
    for customer_id, licence_product, product_id in keys:
        groups.setdefault((licence_product, product_id), []).append(customer_id)
    out: dict[CheckKey, list[tuple[Any, ...]]] = {key: [] for key in keys}
    async with pool.lease() as conn:
        for (licence_product, product_id), customers in groups.items():
            for row in await conn.fetch(_CHECK_SQL, customers, licence_product, product_id):
                out[(row[0], licence_product, product_id)].append(tuple(row)[1:])
    return out


async def check_rows(session: AsyncSession, customer_id: str, licence_product: str, product_id: str
                     ) -> list[tuple[Any, ...]]:
    """The same rows as `check_rows_raw_many` for one customer, through SQLAlchemy Core (SQLite)."""
    l, c = Licence.__table__.c, Contract.__table__.c
    stmt = (select(l.id, l.reference, c.id, c.status, c.plan_id, c.plan_version)
            .select_from(Licence.__table__.outerjoin(Contract.__table__, and_(
                c.licence_id == l.id, c.product_id == product_id, c.status.in_(LIVE_STATUSES))))
            .where(l.customer_id == customer_id, l.product == licence_product)
            .order_by(l.id))
    return [tuple(r) for r in (await session.execute(stmt)).all()]
