"""Migration steps of the infrastructure tables every service has (outbox, inbox, idempotency
keys), shared by the three services' Alembic revisions.

Frozen like any migration: each function is what the revisions that call it did, and must never
change; a later change is a new function here and a new revision in each service."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_DEAD = sa.text("failed_at IS NOT NULL")


def create_outbox_dead_letter_index() -> None:
    """ix_outbox_dead: the dead letters, counted by every /metrics scrape (shared/runtime.py)."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_dead", ["failed_at"], unique=False, postgresql_where=_DEAD,
                              sqlite_where=_DEAD)


def drop_outbox_dead_letter_index() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_dead", postgresql_where=_DEAD, sqlite_where=_DEAD)
