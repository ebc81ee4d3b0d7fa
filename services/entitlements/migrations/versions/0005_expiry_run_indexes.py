"""the expiry run's index ranges: live contracts by term end, and live contracts with a
termination scheduled, by its date (R-E1; the run claims them in chunks, service/expiry.py)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_LIVE = sa.text("status IN ('pending_payment', 'active', 'suspended')")
_SCHEDULED = sa.text("termination_scheduled_on IS NOT NULL AND status IN ('pending_payment', 'active', 'suspended')")


def upgrade() -> None:
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index('ix_contract_live_ends_on', ['ends_on', 'id'], unique=False,
                              postgresql_where=_LIVE, sqlite_where=_LIVE)
        batch_op.create_index('ix_contract_live_termination_scheduled', ['termination_scheduled_on', 'id'],
                              unique=False, postgresql_where=_SCHEDULED, sqlite_where=_SCHEDULED)


def downgrade() -> None:
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index('ix_contract_live_termination_scheduled', postgresql_where=_SCHEDULED,
                            sqlite_where=_SCHEDULED)
        batch_op.drop_index('ix_contract_live_ends_on', postgresql_where=_LIVE, sqlite_where=_LIVE)
