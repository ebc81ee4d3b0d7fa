"""indexes for the gauges counted on every /metrics scrape: the outbox's dead letters and the
data dispositions not completed yet (R-E9)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from shared.infra_migration import create_outbox_dead_letter_index, drop_outbox_dead_letter_index

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_PENDING = sa.text('completed_on IS NULL')


def upgrade() -> None:
    create_outbox_dead_letter_index()
    with op.batch_alter_table('data_disposition', schema=None) as batch_op:
        batch_op.create_index('ix_data_disposition_pending', ['due_on'], unique=False,
                              postgresql_where=_PENDING, sqlite_where=_PENDING)


def downgrade() -> None:
    with op.batch_alter_table('data_disposition', schema=None) as batch_op:
        batch_op.drop_index('ix_data_disposition_pending', postgresql_where=_PENDING, sqlite_where=_PENDING)
    drop_outbox_dead_letter_index()
