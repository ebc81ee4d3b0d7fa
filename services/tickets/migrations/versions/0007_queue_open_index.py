"""the agent queue's index: its open tickets in `queue_key` order

The queue (`GET /v1/tickets`, by default the new, open and awaiting_customer tickets in
`queue_key` order) read `ix_ticket_status` and sorted every open ticket for each page: an index on
(status, queue_key) cannot give one `queue_key` order across three statuses. A partial index of
`queue_key` over those statuses makes the first page and every keyset page an index range that
stops after the page, however many tickets there are (bench/tickets_scale.py); the closed history,
most of the table, is not in it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_IN_QUEUE = sa.text("status IN ('new', 'open', 'awaiting_customer')")


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_queue_open', ['queue_key'], unique=False,
                              postgresql_where=_IN_QUEUE, sqlite_where=_IN_QUEUE)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_queue_open', postgresql_where=_IN_QUEUE, sqlite_where=_IN_QUEUE)
