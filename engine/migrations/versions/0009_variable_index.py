"""Search by data (issue 14): ``instance_variables``, the index of instances' top-level scalar variables

* ``instance_variables(instance_id, name, kind, text_value, num_value)``, primary key (instance_id, name)
  (without rowid on SQLite), one index (name, num_value, text_value) (``engine.variable_index`` keeps it
  with each step; a text equality looks it up with ``num_value IS NULL``).
* The variables of the instances there already are written here, 500 instances at a time, as
  ``engine.variable_index.entries`` does it (copied so this revision stays as it is).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 03:30:00
"""
import json
import math
import re

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 500
_PLAIN_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,15})?")


def upgrade() -> None:
    op.create_table(
        'instance_variables',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('text_value', sa.String(length=256), nullable=True),
        sa.Column('num_value', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
        sa.PrimaryKeyConstraint('instance_id', 'name'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_instance_variables_value', 'instance_variables', ['name', 'num_value', 'text_value'],
                    unique=False)
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_instance_variables_value', table_name='instance_variables')
    op.drop_table('instance_variables')


def _backfill(connection) -> None:
    instances = sa.table('instances', sa.column('id', sa.Integer), sa.column('data', sa.Text))
    variables = sa.table('instance_variables', sa.column('instance_id'), sa.column('name'), sa.column('kind'),
                         sa.column('text_value'), sa.column('num_value'))
    last = 0
    while True:
        batch = connection.execute(sa.select(instances.c.id, instances.c.data).where(instances.c.id > last)
                                   .order_by(instances.c.id).limit(BATCH)).all()
        if not batch:
            return
        rows = [{"instance_id": instance_id, "name": name, "kind": kind, "text_value": text, "num_value": number}
                for instance_id, data in batch for name, (kind, text, number) in _entries(data).items()]
        if rows:
            connection.execute(variables.insert(), rows)
        last = batch[-1][0]


def _entries(data) -> dict:
    if isinstance(data, str):
        data = json.loads(data or "{}")
    found = {}
    for name, value in (data or {}).items():
        if not isinstance(name, str) or len(name) > 128:
            continue
        if isinstance(value, bool):
            found[name] = ("boolean", "true" if value else "false", None)
        elif isinstance(value, (int, float)) and math.isfinite(float(value)):
            found[name] = ("number", None, float(value))
        elif isinstance(value, str):
            found[name] = ("text", value[:256], float(value) if _PLAIN_NUMBER.fullmatch(value) else None)
    return found
