"""a per-webhook sequence number on deliveries (their order is the order of their commits)

Revision ID: 0007_webhook_delivery_seq
Revises: 0006_native_functions
Create Date: 2026-12-07 10:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_webhook_delivery_seq'
down_revision = '0006_native_functions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seq', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
    # Deliveries queued before: their ids give their order, as before.
    op.execute("UPDATE webhook_deliveries SET seq = id")
    op.execute("UPDATE webhooks SET last_seq = COALESCE((SELECT MAX(d.id) FROM "
               "webhook_deliveries d WHERE d.webhook_id = webhooks.id), 0)")
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_pending')
        batch_op.create_index('ix_webhook_deliveries_pending', ['webhook_id', 'state', 'seq'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_pending')
        batch_op.create_index('ix_webhook_deliveries_pending', ['webhook_id', 'state', 'id'],
                              unique=False)
        batch_op.drop_column('seq')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_column('last_seq')
