"""Task candidates: the candidate groups (roles) and candidate users of a human task

* ``task_candidates(task_id, kind, name)``: who besides the task's ``role`` may claim it, one row per
  candidate group (``kind`` ``group``) or candidate user (``kind`` ``user``), indexed by (kind, name).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 23:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'task_candidates',
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], ),
        sa.PrimaryKeyConstraint('task_id', 'kind', 'name'),
    )
    op.create_index('ix_task_candidates_kind_name', 'task_candidates', ['kind', 'name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_candidates_kind_name', table_name='task_candidates')
    op.drop_table('task_candidates')
