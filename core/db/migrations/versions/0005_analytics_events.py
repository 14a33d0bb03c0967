"""analytics: the events outbox, sink cursors and the sql sink's events table

Revision ID: 0005_analytics_events
Revises: 0004_webhooks
Create Date: 2026-12-07 02:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_analytics_events'
down_revision = '0004_webhooks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_outbox',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('created_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_analytics_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_analytics_outbox_event_id'))
    )
    with op.batch_alter_table('analytics_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_outbox_created_date'), ['created_date'],
                              unique=False)

    op.create_table('analytics_sink_cursors',
    sa.Column('sink', sa.String(length=64), nullable=False),
    sa.Column('delivered_seq', sa.BigInteger(), nullable=False),
    sa.Column('delivered_count', sa.BigInteger(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('updated_date', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sink', name=op.f('pk_analytics_sink_cursors'))
    )
    op.create_table('analytics_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('obj_name', sa.Text(), nullable=True),
    sa.Column('obj_id', sa.BigInteger(), nullable=True),
    sa.Column('obj_val', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('duration', sa.BigInteger(), nullable=False),
    sa.Column('project_id', sa.BigInteger(), nullable=True),
    sa.Column('task_id', sa.BigInteger(), nullable=True),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('user_name', sa.Text(), nullable=True),
    sa.Column('user_email', sa.Text(), nullable=True),
    sa.Column('org_id', sa.BigInteger(), nullable=True),
    sa.Column('org_slug', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_events'))
    )
    with op.batch_alter_table('analytics_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_events_timestamp'), ['timestamp'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_events_user_id'), ['user_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_events_org_id'), ['org_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('analytics_events')
    op.drop_table('analytics_sink_cursors')
    with op.batch_alter_table('analytics_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_outbox_created_date'))
    op.drop_table('analytics_outbox')
