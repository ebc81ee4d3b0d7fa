"""the billing run as durable work: a run, its chunks of contracts, its failures; the dunning
run's index ranges

A run was one request that invoiced contract by contract; it is now a record whose chunks of
contract-id ranges any billing replica's worker takes (`FOR UPDATE SKIP LOCKED`, a lease).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.columns

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_run',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('as_of', shared.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', shared.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', shared.columns.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.create_index('ix_billing_run_period', ['period', 'created_at'], unique=False)
        batch_op.create_index('uq_billing_run_running_period', ['period'], unique=True,
                              postgresql_where=sa.text("status = 'running'"),
                              sqlite_where=sa.text("status = 'running'"))
    op.create_table('billing_run_chunk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_contract', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('to_contract', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', shared.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_token', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('one_by_one', sa.Boolean(), nullable=False),
    sa.Column('done_at', shared.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['billing_run.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'seq')
    )
    with op.batch_alter_table('billing_run_chunk', schema=None) as batch_op:
        batch_op.create_index('ix_billing_run_chunk_pending', ['lease_until'], unique=False,
                              postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))
    op.create_table('billing_run_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('contract_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('occurred_at', shared.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['billing_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('billing_run_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_run_failure_run_id'), ['run_id'], unique=False)


    # the dunning run walks two partial-index ranges instead of scanning every account
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_unpaid_contract', ['contract_id'], unique=False,
                              postgresql_where=sa.text("status IN ('open', 'partially_paid')"),
                              sqlite_where=sa.text("status IN ('open', 'partially_paid')"))
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.create_index('ix_billing_account_not_good', ['contract_id'], unique=False,
                              postgresql_where=sa.text("standing <> 'good'"),
                              sqlite_where=sa.text("standing <> 'good'"))


def downgrade() -> None:
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_account_not_good')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_unpaid_contract')
    op.drop_table('billing_run_failure')
    op.drop_table('billing_run_chunk')
    op.drop_table('billing_run')
