"""Finding work (issue 14): delegation, priority, follow-up date and draft on human tasks; saved filters

* ``human_tasks``: ``owner`` and ``delegation`` (``pending``/``resolved``, Camunda's delegation state),
  ``priority`` (0-100, 50 for the rows there already), ``follow_up`` (a date) and ``draft`` (JSON: the
  delegate's values); a partial index on ``owner`` for the tasks a delegate holds.
* ``saved_filters(id, user_id, name, query, position, created_at)``: a user's named worklist queries,
  unique per (user, name).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('delegation', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default=sa.text('50'), nullable=False))
        batch_op.add_column(sa.Column('follow_up', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('draft', sa.JSON(), nullable=True))
        batch_op.create_index('ix_tasks_owner_delegated', ['owner'], unique=False,
                              sqlite_where=sa.text("delegation = 'pending'"),
                              postgresql_where=sa.text("delegation = 'pending'"))
    op.create_table(
        'saved_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('query', sa.JSON(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'name', name='uq_saved_filters_user_id_name'),
    )


def downgrade() -> None:
    op.drop_table('saved_filters')
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_owner_delegated')
        batch_op.drop_column('draft')
        batch_op.drop_column('follow_up')
        batch_op.drop_column('priority')
        batch_op.drop_column('delegation')
        batch_op.drop_column('owner')
