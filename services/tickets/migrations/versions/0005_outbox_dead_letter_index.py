"""an index of the outbox's dead letters, counted on every /metrics scrape

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from shared.infra_migration import create_outbox_dead_letter_index, drop_outbox_dead_letter_index

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_dead_letter_index()


def downgrade() -> None:
    drop_outbox_dead_letter_index()
