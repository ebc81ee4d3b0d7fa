"""The webhook tables' migration steps, shared by the three services' Alembic revisions (each
service has the same tables in its own database).

Frozen like any migration: these functions are what the revisions that call them did, and
must never change. A later change to the tables is a new pair of functions here and a new
revision in each service calling it.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.columns


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _instant() -> shared.columns.UTCDateTime:
    return shared.columns.UTCDateTime(timezone=True)


def create_webhook_tables() -> None:
    """webhook_endpoint, webhook_delivery and webhook_attempt, as first introduced."""
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", _text(40), nullable=False),
        sa.Column("owner", _text(200), nullable=False),
        sa.Column("url", _text(2000), nullable=False),
        sa.Column("events", _json(), nullable=False),
        sa.Column("description", _text(500), nullable=True),
        sa.Column("secret", _text(100), nullable=False),
        sa.Column("status", _text(10), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("disabled_at", _instant(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_endpoint_owner", "webhook_endpoint", ["owner"], unique=False)

    op.create_table(
        "webhook_delivery",
        sa.Column("id", _text(40), nullable=False),
        sa.Column("endpoint_id", _text(40), nullable=False),
        sa.Column("event_id", _text(40), nullable=False),
        sa.Column("event_type", _text(100), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("status", _text(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("budget_used", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", _instant(), nullable=True),
        sa.Column("locked_until", _instant(), nullable=True),
        sa.Column("lease", _text(40), nullable=True),
        sa.Column("delivered_at", _instant(), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_event"),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["next_attempt_at"], unique=False,
                    postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_index("ix_webhook_delivery_endpoint_status", "webhook_delivery", ["endpoint_id", "status"],
                    unique=False)

    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", _text(40), nullable=False),
        sa.Column("attempted_at", _instant(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_attempt_delivery_id", "webhook_attempt", ["delivery_id"], unique=False)


def drop_webhook_tables() -> None:
    op.drop_index("ix_webhook_attempt_delivery_id", table_name="webhook_attempt")
    op.drop_table("webhook_attempt")
    op.drop_index("ix_webhook_delivery_endpoint_status", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery",
                  postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.drop_table("webhook_delivery")
    op.drop_index("ix_webhook_endpoint_owner", table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
