"""Queries of the billing service; no rules here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing.models import (
    BillingAccount, BillingRun, BillingRunChunk, BillingRunFailure, Charge, Invoice, InvoiceCounter, InvoiceLine,
    Payment, PendingUsage, PlanPrice, ReceivedProviderEvent,
)
from services.billing.statuses import (
    MONTHLY_FEE, UNPAID, ChargeStatus, ChunkState, InvoiceKind, InvoicePurpose, PriceState, RunStatus, Standing,
)
from shared.bulk import insert_many
from shared.queries import KeysetPage, keyset_page, one_row


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def take_number(session: AsyncSession, series: str, month: str) -> int:
    """The next number of a series in a month, under the counter row's lock (gap-free: it is
    given back by a rollback; concurrent issuers queue on the row)."""
    await session.execute(_insert(session)(InvoiceCounter).values(series=series, month=month, last=0)
                          .on_conflict_do_nothing(index_elements=["series", "month"]))
    taken = await session.execute(update(InvoiceCounter)
                                  .where(InvoiceCounter.series == series, InvoiceCounter.month == month)
                                  .values(last=InvoiceCounter.last + 1).returning(InvoiceCounter.last))
    return int(taken.scalar_one())


async def account(session: AsyncSession, contract_id: str, *, for_update: bool = False) -> BillingAccount | None:
    return await one_row(session, BillingAccount, BillingAccount.contract_id == contract_id, for_update=for_update)


async def invoice(session: AsyncSession, invoice_id: str, *, for_update: bool = False) -> Invoice | None:
    return await one_row(session, Invoice, Invoice.id == invoice_id, for_update=for_update)


async def invoice_by_origin(session: AsyncSession, origin_key: str) -> Invoice | None:
    return (await session.execute(select(Invoice).where(Invoice.origin_key == origin_key))).scalar_one_or_none()


async def period_invoice(session: AsyncSession, contract_id: str, period: str) -> Invoice | None:
    stmt = select(Invoice).where(Invoice.contract_id == contract_id, Invoice.period == period,
                                 Invoice.purpose.in_(MONTHLY_FEE))
    return (await session.execute(stmt)).scalars().first()


async def lines(session: AsyncSession, invoice_id: str) -> Sequence[InvoiceLine]:
    stmt = select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position)
    return (await session.execute(stmt)).scalars().all()


async def unpaid_invoices(session: AsyncSession, contract_id: str) -> Sequence[Invoice]:
    stmt = (select(Invoice).where(Invoice.contract_id == contract_id, Invoice.kind == InvoiceKind.INVOICE,
                                  Invoice.status.in_(UNPAID))
            .order_by(Invoice.due_date, Invoice.number))
    return (await session.execute(stmt)).scalars().all()


async def credited_total(session: AsyncSession, invoice_id: str) -> Decimal:
    """The gross already credited against an invoice by its credit notes (≥ 0)."""
    notes = (await session.execute(select(Invoice.gross_total).where(Invoice.corrects_id == invoice_id))).scalars()
    return -sum(notes, Decimal("0.00"))


async def last_payment_at(session: AsyncSession, invoice_id: str) -> datetime | None:
    """When the latest payment against an invoice was received (None: nothing yet)."""
    stmt = select(Payment.received_at).where(Payment.invoice_id == invoice_id).order_by(
        Payment.received_at.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def invoices(session: AsyncSession, *, customer_id: str | None, contract_id: str | None,
                   created_by: str | None, after: str | None, limit: int) -> KeysetPage[Invoice]:
    """Newest first."""
    return await keyset_page(session, Invoice, Invoice.id, after=after, limit=limit, newest_first=True,
                             customer_id=customer_id, contract_id=contract_id, created_by=created_by)


async def unbilled_usage(session: AsyncSession, contract_id: str) -> Sequence[PendingUsage]:
    stmt = (select(PendingUsage).where(PendingUsage.contract_id == contract_id, PendingUsage.invoice_id.is_(None))
            .order_by(PendingUsage.occurred_at, PendingUsage.id).with_for_update())
    return (await session.execute(stmt)).scalars().all()


async def usage_by_event(session: AsyncSession, event_id: str) -> PendingUsage | None:
    return (await session.execute(select(PendingUsage).where(PendingUsage.event_id == event_id))).scalar_one_or_none()


async def charges_of(session: AsyncSession, invoice_id: str) -> Sequence[Charge]:
    stmt = select(Charge).where(Charge.invoice_id == invoice_id).order_by(Charge.attempt)
    return (await session.execute(stmt)).scalars().all()


async def charge(session: AsyncSession, *, charge_id: str | None = None, provider_id: str | None = None,
                 key: str | None = None, for_update: bool = False) -> Charge | None:
    if charge_id is not None:
        by = Charge.id == charge_id
    elif provider_id is not None:
        by = Charge.provider_charge_id == provider_id
    else:
        by = Charge.idempotency_key == key
    return await one_row(session, Charge, by, for_update=for_update)


async def claim_due_charges(session: AsyncSession, now: datetime, lease_until: datetime, limit: int) -> list[str]:
    """Charges to submit (scheduled) or reconcile (unknown) now, leased to this runner
    (`SKIP LOCKED`: several replicas never take the same one)."""
    stmt = (select(Charge).where(Charge.status.in_((ChargeStatus.SCHEDULED, ChargeStatus.UNKNOWN)),
                                 Charge.scheduled_for <= now,
                                 or_(Charge.locked_until.is_(None), Charge.locked_until < now))
            .order_by(Charge.scheduled_for).limit(limit).with_for_update(skip_locked=True))
    rows = (await session.execute(stmt)).scalars().all()
    for row in rows:
        row.locked_until = lease_until
    await session.flush()
    return [row.id for row in rows]


async def provider_event_seen(session: AsyncSession, event_id: str) -> bool:
    found = await session.execute(select(ReceivedProviderEvent.id).where(ReceivedProviderEvent.id == event_id))
    return found.first() is not None


async def price_schedule(session: AsyncSession, contract_id: str) -> Sequence[PlanPrice]:
    """A contract's price rows in schedule order (index range on `ix_plan_price_contract`)."""
    stmt = (select(PlanPrice).where(PlanPrice.contract_id == contract_id)
            .order_by(PlanPrice.effective_from, PlanPrice.seq))
    return (await session.execute(stmt)).scalars().all()


async def price_by_origin(session: AsyncSession, origin_key: str) -> PlanPrice | None:
    return (await session.execute(select(PlanPrice).where(PlanPrice.origin_key == origin_key))).scalar_one_or_none()


async def price_of_supplement(session: AsyncSession, invoice_id: str) -> PlanPrice | None:
    return (await session.execute(select(PlanPrice).where(PlanPrice.invoice_id == invoice_id))).scalar_one_or_none()


async def billed_fees(session: AsyncSession, contract_id: str) -> dict[str, Decimal]:
    """Per period, the net monthly fee billed so far: subscription lines of the period's
    invoices, of catch-up supplements and of repricing credit notes (finance's own credit notes
    are `correction` lines and do not count: crediting a month is not un-billing it)."""
    stmt = (select(Invoice.period, func.sum(InvoiceLine.net)).join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
            .where(Invoice.contract_id == contract_id, Invoice.period.is_not(None), InvoiceLine.kind == "subscription")
            .group_by(Invoice.period))
    return {period: total for period, total in (await session.execute(stmt)).all()}  # Money: Decimal


async def fee_invoice(session: AsyncSession, contract_id: str, period: str) -> Invoice | None:
    """The invoice that billed a period's monthly fee (the first invoice or the period's)."""
    return await period_invoice(session, contract_id, period)


async def legacy_price_accounts(session: AsyncSession) -> Sequence[BillingAccount]:
    stmt = select(BillingAccount).where(BillingAccount.legacy_prices.is_(True)).order_by(BillingAccount.contract_id)
    return (await session.execute(stmt)).scalars().all()


async def supplements(session: AsyncSession, contract_id: str) -> Sequence[Invoice]:
    """A contract's upgrade supplements (R-B7) in issue order; not the catch-ups of a fee."""
    with_supplement = select(InvoiceLine.invoice_id).where(InvoiceLine.kind == "supplement")
    stmt = (select(Invoice).where(Invoice.contract_id == contract_id, Invoice.purpose == InvoicePurpose.UPGRADE,
                                  Invoice.id.in_(with_supplement))
            .order_by(Invoice.created_at, Invoice.number))
    return (await session.execute(stmt)).scalars().all()


async def drop_applied_prices(session: AsyncSession, contract_id: str) -> None:
    await session.execute(delete(PlanPrice).where(PlanPrice.contract_id == contract_id,
                                                    PlanPrice.state == PriceState.APPLIED))


# ---- the billing run's chunks (service/run_worker.py): every query an index range -----------------

def _in_range(column, low: str, high: str | None):  # type: ignore[no-untyped-def]
    return column >= low if high is None else and_(column >= low, column < high)


async def take_numbers(session: AsyncSession, series: str, month: str, count: int) -> int:
    """A block of `count` consecutive numbers of a series in a month, under the counter row's
    lock; returns the first. Given back by a rollback, like `take_number`."""
    await session.execute(_insert(session)(InvoiceCounter).values(series=series, month=month, last=0)
                          .on_conflict_do_nothing(index_elements=["series", "month"]))
    taken = await session.execute(update(InvoiceCounter)
                                  .where(InvoiceCounter.series == series, InvoiceCounter.month == month)
                                  .values(last=InvoiceCounter.last + count).returning(InvoiceCounter.last))
    return int(taken.scalar_one()) - count + 1


async def active_contract_ids(session: AsyncSession) -> Sequence[str]:
    stmt = (select(BillingAccount.contract_id).where(BillingAccount.contract_status == "active")
            .order_by(BillingAccount.contract_id))
    return (await session.execute(stmt)).scalars().all()


# The chunk's reads are Core selects: rows with attribute access, no ORM instance per row.

async def active_accounts_in(session: AsyncSession, low: str, high: str | None) -> Sequence[Any]:
    """The chunk's active accounts, locked (an upgrade or a contract event waits for the chunk)."""
    t = BillingAccount.__table__  # type: ignore[attr-defined]
    stmt = (select(t).where(_in_range(t.c.contract_id, low, high), t.c.contract_status == "active")
            .order_by(t.c.contract_id).with_for_update())
    return (await session.execute(stmt)).all()


async def period_invoiced_in(session: AsyncSession, period: str, low: str, high: str | None) -> set[str]:
    stmt = select(Invoice.contract_id).where(_in_range(Invoice.contract_id, low, high), Invoice.period == period,
                                             Invoice.purpose == InvoicePurpose.PERIOD)
    return set((await session.execute(stmt)).scalars().all())


async def price_schedules_in(session: AsyncSession, low: str, high: str | None) -> dict[str, list[Any]]:
    t = PlanPrice.__table__  # type: ignore[attr-defined]
    stmt = (select(t).where(_in_range(t.c.contract_id, low, high))
            .order_by(t.c.contract_id, t.c.effective_from, t.c.seq))
    schedules: dict[str, list[Any]] = {}
    for row in (await session.execute(stmt)).all():
        schedules.setdefault(row.contract_id, []).append(row)
    return schedules


async def unbilled_usage_in(session: AsyncSession, low: str, high: str | None) -> dict[str, list[Any]]:
    t = PendingUsage.__table__  # type: ignore[attr-defined]
    stmt = (select(t).where(_in_range(t.c.contract_id, low, high), t.c.invoice_id.is_(None))
            .order_by(t.c.contract_id, t.c.occurred_at, t.c.id))
    usage: dict[str, list[Any]] = {}
    for row in (await session.execute(stmt)).all():
        usage.setdefault(row.contract_id, []).append(row)
    return usage


async def insert_rows(session: AsyncSession, model: type, rows: list[dict]) -> None:  # type: ignore[type-arg]
    """Plain rows in one go (COPY on PostgreSQL): no ORM object per row."""
    await insert_many(session, model.__table__, rows)  # type: ignore[attr-defined]


async def mark_usage_billed(session: AsyncSession, billed: list[dict]) -> None:  # type: ignore[type-arg]
    """`[{"usage_id": …, "invoice_id": …}]` in one executemany UPDATE by primary key."""
    if billed:
        t = PendingUsage.__table__  # type: ignore[attr-defined]
        await session.execute(update(t).where(t.c.id == bindparam("usage_id"))
                              .values(invoice_id=bindparam("billed_by")), billed)


async def running_run(session: AsyncSession, period: str) -> BillingRun | None:
    stmt = select(BillingRun).where(BillingRun.period == period, BillingRun.status == RunStatus.RUNNING)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def run_by_key(session: AsyncSession, key: str) -> BillingRun | None:
    return (await session.execute(select(BillingRun).where(BillingRun.idempotency_key == key))).scalar_one_or_none()


async def billing_run(session: AsyncSession, run_id: str) -> BillingRun | None:
    stmt = select(BillingRun).where(BillingRun.id == run_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def run_chunks(session: AsyncSession, run_id: str) -> Sequence[BillingRunChunk]:
    stmt = (select(BillingRunChunk).where(BillingRunChunk.run_id == run_id).order_by(BillingRunChunk.seq)
            .execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalars().all()


async def run_failures(session: AsyncSession, run_id: str) -> Sequence[BillingRunFailure]:
    stmt = (select(BillingRunFailure).where(BillingRunFailure.run_id == run_id)
            .order_by(BillingRunFailure.contract_id, BillingRunFailure.id))
    return (await session.execute(stmt)).scalars().all()


async def claim_chunk(session: AsyncSession, now: datetime, lease_until: datetime, token: str,
                      worker: str) -> BillingRunChunk | None:
    """The pending chunk free longest (never leased, or its lease ran out), leased to `worker`:
    an index range over pending chunks, `SKIP LOCKED` so replicas take different ones."""
    stmt = (select(BillingRunChunk.id)
            .where(BillingRunChunk.state == ChunkState.PENDING, BillingRunChunk.lease_until <= now)
            .order_by(BillingRunChunk.lease_until).limit(1).with_for_update(skip_locked=True))
    chunk_id = (await session.execute(stmt)).scalar_one_or_none()
    if chunk_id is None:
        return None
    await session.execute(update(BillingRunChunk).where(BillingRunChunk.id == chunk_id).values(
        lease_until=lease_until, lease_token=token, worker=worker, attempts=BillingRunChunk.attempts + 1))
    stmt2 = select(BillingRunChunk).where(BillingRunChunk.id == chunk_id).execution_options(populate_existing=True)
    return (await session.execute(stmt2)).scalar_one()


async def finish_chunk(session: AsyncSession, chunk_id: int, token: str, figures: dict[str, int],
                       one_by_one: bool, now: datetime) -> bool:
    """Marks the chunk done with its figures, only while the lease is still ours (a worker whose
    lease ran out and was taken again commits nothing)."""
    done = await session.execute(update(BillingRunChunk).where(
        BillingRunChunk.id == chunk_id, BillingRunChunk.lease_token == token,
        BillingRunChunk.state == ChunkState.PENDING).values(state=ChunkState.DONE, done_at=now, figures=figures,
                                                            one_by_one=one_by_one))
    return done.rowcount == 1  # type: ignore[attr-defined]


async def finish_run_if_done(session: AsyncSession, run_id: str, now: datetime) -> bool:
    pending = select(BillingRunChunk.id).where(BillingRunChunk.run_id == run_id,
                                               BillingRunChunk.state == ChunkState.PENDING)
    done = await session.execute(update(BillingRun).where(
        BillingRun.id == run_id, BillingRun.status == RunStatus.RUNNING, ~pending.exists())
        .values(status=RunStatus.FINISHED, finished_at=now))
    return done.rowcount == 1  # type: ignore[attr-defined]


# ---- the dunning run's chunks (service/dunning.py) -------------------------------------------------

async def dunning_candidates(session: AsyncSession, after: str, limit: int) -> list[str]:
    """The next contracts after `after` (by id) that may need dunning: an unpaid invoice, or a
    standing that is not good. Two partial-index ranges (ix_invoice_unpaid_contract,
    ix_billing_account_not_good), merged."""
    unpaid = (select(Invoice.contract_id).distinct().where(Invoice.status.in_(UNPAID), Invoice.contract_id > after)
              .order_by(Invoice.contract_id).limit(limit))
    flagged = (select(BillingAccount.contract_id).where(BillingAccount.standing != Standing.GOOD,
                                                        BillingAccount.contract_id > after)
               .order_by(BillingAccount.contract_id).limit(limit))
    ids = set((await session.execute(unpaid)).scalars().all()) | set((await session.execute(flagged)).scalars().all())
    return sorted(ids)[:limit]


async def lock_accounts(session: AsyncSession, contract_ids: Sequence[str]) -> Sequence[BillingAccount]:
    """The accounts, locked; one another replica's dunning holds is skipped (it is dunning it)."""
    stmt = (select(BillingAccount).where(BillingAccount.contract_id.in_(contract_ids))
            .order_by(BillingAccount.contract_id).with_for_update(skip_locked=True))
    return (await session.execute(stmt)).scalars().all()


async def unpaid_invoices_of(session: AsyncSession, contract_ids: Sequence[str]) -> dict[str, list[Invoice]]:
    stmt = (select(Invoice).where(Invoice.contract_id.in_(contract_ids), Invoice.kind == InvoiceKind.INVOICE,
                                  Invoice.status.in_(UNPAID))
            .order_by(Invoice.contract_id, Invoice.due_date, Invoice.number))
    found: dict[str, list[Invoice]] = {}
    for invoice in (await session.execute(stmt)).scalars():
        found.setdefault(invoice.contract_id, []).append(invoice)
    return found


async def charges_of_invoices(session: AsyncSession, invoice_ids: Sequence[str]) -> dict[str, list[Charge]]:
    stmt = select(Charge).where(Charge.invoice_id.in_(invoice_ids)).order_by(Charge.invoice_id, Charge.attempt)
    found: dict[str, list[Charge]] = {}
    for charge in (await session.execute(stmt)).scalars():
        found.setdefault(charge.invoice_id, []).append(charge)
    return found
