"""each ticket's next SLA instant, and the index the SLA scan reads as a range

`ticket.sla_next_check_at` is the warning instant, else the reaction deadline, of a ticket
awaiting its first reaction; NULL for every other ticket. Existing tickets awaiting a reaction get
their acceptance instant (in the past), so the first scan after the upgrade looks at each one and
stores its real next instant.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import shared.columns

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_NEXT_CHECK = sa.text('sla_next_check_at IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_next_check_at', shared.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_ticket_sla_next_check', ['sla_next_check_at'], unique=False,
                              postgresql_where=_NEXT_CHECK, sqlite_where=_NEXT_CHECK)
    op.execute("UPDATE ticket SET sla_next_check_at = accepted_at WHERE first_response_at IS NULL "
               "AND status IN ('new', 'open') AND sla_breached_at IS NULL AND reaction_due_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_sla_next_check', postgresql_where=_NEXT_CHECK, sqlite_where=_NEXT_CHECK)
        batch_op.drop_column('sla_next_check_at')
