"""indexes for the gauges counted on every /metrics scrape: the outbox's dead letters, and the
billing run's progress (active accounts, invoices of a period)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""
from alembic import op

from shared.infra_migration import create_outbox_dead_letter_index, drop_outbox_dead_letter_index

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_dead_letter_index()
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.create_index('ix_billing_account_contract_status', ['contract_status'], unique=False)
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_period', ['period'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_period')
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_account_contract_status')
    drop_outbox_dead_letter_index()
