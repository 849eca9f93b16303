"""External tasks: service tasks done by external workers (Camunda 7's external task service)

* ``external_tasks``: one row per external task an instance waits at — topic, lock owner and expiry,
  retries, the last failure's message and details, priority, when it is fetchable again after a
  retry timeout; indexed by (topic, status) for fetch-and-lock.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'external_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=128), nullable=False),
        sa.Column('element_id', sa.String(length=128), nullable=False),
        sa.Column('engine_task_id', sa.String(length=36), nullable=False),
        sa.Column('topic', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('worker_id', sa.String(length=128), nullable=True),
        sa.Column('lock_expires_at', sa.DateTime(), nullable=True),
        sa.Column('available_at', sa.DateTime(), nullable=True),
        sa.Column('retries', sa.Integer(), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('error_details', sa.Text(), nullable=True),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_external_tasks_instance_id', 'external_tasks', ['instance_id'], unique=False)
    op.create_index('ix_external_tasks_topic_status', 'external_tasks', ['topic', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_external_tasks_topic_status', table_name='external_tasks')
    op.drop_index('ix_external_tasks_instance_id', table_name='external_tasks')
    op.drop_table('external_tasks')
