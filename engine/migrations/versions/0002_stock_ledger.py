"""stock ledger: stock_movements (engine/connectors/stock.py)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stock_movements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('qty', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('process_id', sa.String(length=128), nullable=True),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('reference', sa.String(length=128), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("reason IN ('receipt', 'shipment', 'stocktake')", name='ck_stock_movements_reason'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id', 'reason', 'reference', 'sku', name='uq_stock_movements_booking'),
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_movements_sku'), ['sku'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movements_instance_id'))
        batch_op.drop_index(batch_op.f('ix_stock_movements_sku'))
    op.drop_table('stock_movements')
