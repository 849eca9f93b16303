"""Hardening: messages unique per sender, tokens that expire and are revoked, login attempts

* ``messages``: a ``message_id`` is unique per sender (one integrator's id cannot squat another's):
  the unique constraint on ``message_id`` becomes one on ``(sender, message_id)``.
* ``api_tokens``: ``expires_at``, ``revoked_at`` and ``last_used_at`` (tokens stay stored hashed);
  tokens issued before this revision keep no expiry.
* ``login_attempts``: every failed sign-in and every lockout (who, when, from where), read to
  throttle brute force by user name and by address.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 23:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_message_id_unique(batch_op, dialect: str) -> None:
    batch_op.drop_constraint("uq_messages_message_id" if dialect == "sqlite" else "messages_message_id_key",
                             type_="unique")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('messages', schema=None, naming_convention=NAMING) as batch_op:
        _drop_message_id_unique(batch_op, dialect)
        batch_op.create_unique_constraint('uq_messages_sender_message_id', ['sender', 'message_id'])
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
    op.create_table(
        'login_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_attempts_username_at', 'login_attempts', ['username', 'at'], unique=False)
    op.create_index('ix_login_attempts_address_at', 'login_attempts', ['address', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_attempts_address_at', table_name='login_attempts')
    op.drop_index('ix_login_attempts_username_at', table_name='login_attempts')
    op.drop_table('login_attempts')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_messages_sender_message_id', type_='unique')
        batch_op.create_unique_constraint('uq_messages_message_id', ['message_id'])
