"""a price schedule per contract instead of one price that an upgrade overwrote

Until now an upgrade replaced the account's price as soon as the plan switched, so a month whose
invoice was issued after an upgrade dated in that month was billed at the new price although the
supplement had already paid the difference for the upgrade's days (R-B7). The schedule keeps
each plan's price from the day it is owed.

Backfill: every account gets its plan as bought (the account's price, effective from the
contract's start); an upgrade still waiting for payment (`pending_price`) becomes a pending row
tied to its supplement. An account whose upgrade already switched lost its old price: it is
marked `legacy_prices`, and `supportctl billing reprice --apply` rebuilds its schedule from
entitlements' history and credits any month billed twice (docs/guides/operators.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
import json
from datetime import datetime, timezone

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.columns
from shared.ids import new_id

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_price',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('contract_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('plan_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('price_net', shared.columns.Money(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('origin_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('invoice_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('created_at', shared.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied_at', shared.columns.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('origin_key')
    )
    with op.batch_alter_table('plan_price', schema=None) as batch_op:
        batch_op.create_index('ix_plan_price_contract', ['contract_id', 'effective_from', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_price_invoice_id'), ['invoice_id'], unique=False)
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legacy_prices', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.alter_column('legacy_prices', server_default=None)
        batch_op.drop_column('pending_price')


def _backfill() -> None:
    conn = op.get_bind()
    price = sa.table('plan_price', *(sa.column(c) for c in (
        'id', 'contract_id', 'seq', 'plan_id', 'plan_name', 'price_net', 'effective_from', 'state', 'origin_key',
        'invoice_id', 'created_at', 'applied_at')))
    now = datetime.now(timezone.utc)
    stamp = now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now
    accounts = conn.execute(sa.text(
        "SELECT contract_id, plan_id, plan_name, price_net, starts_on, pending_price FROM billing_account")).all()
    for contract_id, plan_id, plan_name, price_net, starts_on, pending in accounts:
        supplements = conn.execute(sa.text(
            "SELECT id, period_start FROM invoice WHERE contract_id = :c AND purpose = 'upgrade' "
            "ORDER BY created_at, id"), {"c": contract_id}).all()
        rows = [dict(id=new_id("prc"), contract_id=contract_id, seq=0, plan_id=plan_id, plan_name=plan_name,
                     price_net=price_net, effective_from=starts_on, state="applied", origin_key=None,
                     invoice_id=None, created_at=stamp, applied_at=stamp)]
        if isinstance(pending, str):
            pending = json.loads(pending)
        if pending and supplements:
            last_id, last_start = supplements[-1]
            rows.append(dict(id=new_id("prc"), contract_id=contract_id, seq=1, plan_id=pending["plan_id"],
                             plan_name=pending.get("plan_name") or pending["plan_id"],
                             price_net=_grosze(pending["price_net"]), effective_from=last_start,
                             state="pending", origin_key=None, invoice_id=last_id, created_at=stamp,
                             applied_at=None))
            supplements = supplements[:-1]
        conn.execute(price.insert(), rows)
        if supplements:  # an upgrade switched already: its old price is gone from billing
            conn.execute(sa.text("UPDATE billing_account SET legacy_prices = :t WHERE contract_id = :c"),
                         {"t": True, "c": contract_id})


def _grosze(text: str) -> int:
    from decimal import Decimal
    return int(Decimal(text) * 100)


def downgrade() -> None:
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_column('plan_id')
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_price', sa.JSON(), nullable=True))
        batch_op.drop_column('legacy_prices')
    with op.batch_alter_table('plan_price', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_price_invoice_id'))
        batch_op.drop_index('ix_plan_price_contract')
    op.drop_table('plan_price')
