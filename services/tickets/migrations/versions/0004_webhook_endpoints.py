"""webhook endpoints managed through the API: endpoints, deliveries and their attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""
from shared.webhook_endpoints.migration import create_webhook_tables, drop_webhook_tables

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_webhook_tables()


def downgrade() -> None:
    drop_webhook_tables()
