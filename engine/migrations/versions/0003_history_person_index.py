"""history_events: one partial index on people's events instead of indexes on type and actor

Every event row touched the type and actor indexes at a page per distinct value,
half the pages a command wrote. Auditors look up what a person did (actor and
time): ``ix_history_events_person`` covers that for every actor but ``system``;
event types are a fixed list (``engine.history.EVENT_TYPES``), not a query.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

PERSON = "actor <> 'system'"


def upgrade() -> None:
    with op.batch_alter_table('history_events', schema=None) as batch_op:
        batch_op.drop_index('ix_history_events_type')
        batch_op.drop_index('ix_history_events_actor')
    op.create_index('ix_history_events_person', 'history_events', ['actor', 'at'], unique=False,
                    sqlite_where=sa.text(PERSON), postgresql_where=sa.text(PERSON))


def downgrade() -> None:
    op.drop_index('ix_history_events_person', table_name='history_events')
    with op.batch_alter_table('history_events', schema=None) as batch_op:
        batch_op.create_index('ix_history_events_actor', ['actor'], unique=False)
        batch_op.create_index('ix_history_events_type', ['type'], unique=False)
