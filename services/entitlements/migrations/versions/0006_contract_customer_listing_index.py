"""a customer's contracts by (customer_id, id): a listing page is an index range in id order
(keyset pagination), not every contract of the customer sorted; it replaces the index on
customer_id alone, its prefix

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index('ix_contract_customer_id_id', ['customer_id', 'id'], unique=False)
        batch_op.drop_index('ix_contract_customer_id')


def downgrade() -> None:
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index('ix_contract_customer_id', ['customer_id'], unique=False)
        batch_op.drop_index('ix_contract_customer_id_id')
