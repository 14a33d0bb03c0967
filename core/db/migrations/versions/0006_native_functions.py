"""native functions and the annotation requests their agents serve

Revision ID: 0006_native_functions
Revises: 0005_analytics_events
Create Date: 2026-12-07 04:55:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_native_functions'
down_revision = '0005_analytics_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('native_functions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('created_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_date', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_native_functions_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_native_functions_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_native_functions'))
    )
    with op.batch_alter_table('native_functions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_native_functions_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_native_functions_owner_id'), ['owner_id'], unique=False)

    op.create_table('agent_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('function_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignments', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('exc_info', sa.Text(), nullable=False),
    sa.Column('created_date', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['function_id'], ['native_functions.id'], name=op.f('fk_agent_requests_function_id_native_functions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['background_jobs.id'], name=op.f('fk_agent_requests_job_id_background_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_agent_requests_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_requests')),
    sa.UniqueConstraint('job_id', name=op.f('uq_agent_requests_job_id'))
    )
    with op.batch_alter_table('agent_requests', schema=None) as batch_op:
        batch_op.create_index('ix_agent_requests_queue', ['function_id', 'category', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_requests_task_id'), ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_requests_task_id'))
        batch_op.drop_index('ix_agent_requests_queue')
    op.drop_table('agent_requests')
    with op.batch_alter_table('native_functions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_native_functions_owner_id'))
        batch_op.drop_index(batch_op.f('ix_native_functions_organization_id'))
    op.drop_table('native_functions')
