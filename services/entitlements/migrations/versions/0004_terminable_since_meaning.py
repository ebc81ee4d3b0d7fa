"""terminable_since means the day a contract became terminable, as billing reports it

Until now entitlements stored the oldest overdue due date there, while billing stores the first
day the payment was more than 7 days late (R-B6). Contracts already marked terminable move to
billing's meaning: due date + 8 days (billing's default `terminable_after_days` of 7).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _shift(days: int) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"UPDATE contract SET terminable_since = terminable_since + {days} "
                   "WHERE terminable_since IS NOT NULL")
    else:
        op.execute(f"UPDATE contract SET terminable_since = date(terminable_since, '{days:+d} days') "
                   "WHERE terminable_since IS NOT NULL")


def upgrade() -> None:
    _shift(8)


def downgrade() -> None:
    _shift(-8)
