"""The audit trail an auditor can trust (issue 15): the history's hash chain, operations, anchors, retention

* ``history_events``: ``prev_hash`` and ``hash`` (the chain, ``engine.hash_chain``), ``operation``,
  ``entity_type``, ``entity_id`` (an operation event; partial index ``ix_history_events_operation``), and
  ``instance_id`` may be null (an operation on a user, a definition…). The events there already are chained
  in ``id`` order, as ``engine.hash_chain.event_hash`` does it (copied so this revision stays as it is).
* ``history_chain``: the head row (id 1) every writer locks, signed as ``engine.hash_chain.sign("head", head,
  events)`` does it; ``audit_anchors``; ``history_gaps`` (retention's
  signed summaries); ``cleanup_permits``.
* ``definitions.history_ttl_days``: the process's history time-to-live (retention), null for none; an index on
  ``instances.ended_at`` (what retention looks for).
* The append-only triggers of ``history_events`` and ``comments`` let DELETE through while the deleting
  transaction holds a row of ``cleanup_permits`` (retention), and refuse it otherwise, as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:40:00
"""
import hashlib
import hmac
import json
import os

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BATCH = 1000
_FIELDS = ("type", "instance_id", "actor", "at", "element_id", "task_id", "data", "operation", "entity_type",
           "entity_id")
_TABLES = ("history_events", "comments")


def upgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table('history_events') as batch:
        batch.alter_column('instance_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('operation', sa.String(length=48), nullable=True))
        batch.add_column(sa.Column('entity_type', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('entity_id', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=False, server_default=GENESIS))
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=False, server_default=''))
        batch.create_index('ix_history_events_operation', ['operation', 'at'],
                           sqlite_where=sa.text("operation IS NOT NULL"),
                           postgresql_where=sa.text("operation IS NOT NULL"))
    op.create_table(
        'history_chain',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'audit_anchors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_anchors_at', 'audit_anchors', ['at'], unique=False)
    op.create_table(
        'history_gaps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('removed_at', sa.DateTime(), nullable=False),
        sa.Column('first_id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_history_gaps_prev_hash', 'history_gaps', ['prev_hash'], unique=False)
    op.add_column('definitions', sa.Column('history_ttl_days', sa.Integer(), nullable=True))
    op.create_index('ix_instances_ended_at', 'instances', ['ended_at'], unique=False)
    op.create_table('cleanup_permits', sa.Column('id', sa.Integer(), nullable=False), sa.PrimaryKeyConstraint('id'))
    head, count = _chain_existing(op.get_bind())
    signature = hmac.new((os.environ.get("LIUCHENG_AUDIT_KEY") or "liucheng-audit-key-not-set").encode("utf-8"),
                         f"head|{head}|{count}".encode("utf-8"), hashlib.sha256).hexdigest()
    op.execute(sa.text("INSERT INTO history_chain (id, head, events, signature) VALUES (1, :head, :events, :sig)")
               .bindparams(head=head, events=count, sig=signature))
    _create_triggers(permit=True)


def downgrade() -> None:
    _drop_triggers()
    op.drop_table('cleanup_permits')
    op.drop_index('ix_history_gaps_prev_hash', table_name='history_gaps')
    op.drop_table('history_gaps')
    op.drop_index('ix_audit_anchors_at', table_name='audit_anchors')
    op.drop_table('audit_anchors')
    op.drop_table('history_chain')
    op.drop_column('definitions', 'history_ttl_days')
    op.drop_index('ix_instances_ended_at', table_name='instances')
    with op.batch_alter_table('history_events') as batch:
        batch.drop_index('ix_history_events_operation')
        for column in ('hash', 'prev_hash', 'entity_id', 'entity_type', 'operation'):
            batch.drop_column(column)
    _create_triggers(permit=False)


def _chain_existing(connection) -> tuple[str, int]:
    events = sa.table('history_events', sa.column('id', sa.Integer), sa.column('type', sa.String),
                      sa.column('instance_id', sa.Integer), sa.column('actor', sa.String),
                      sa.column('at', sa.DateTime), sa.column('element_id', sa.String),
                      sa.column('task_id', sa.Integer), sa.column('data', sa.JSON),
                      sa.column('operation', sa.String), sa.column('entity_type', sa.String),
                      sa.column('entity_id', sa.String), sa.column('prev_hash', sa.String),
                      sa.column('hash', sa.String))
    columns = [events.c[name] for name in _FIELDS]
    write = events.update().where(events.c.id == sa.bindparam('b_id')).values(
        prev_hash=sa.bindparam('b_prev'), hash=sa.bindparam('b_hash'))
    head, count, last = GENESIS, 0, 0
    while True:
        rows = connection.execute(sa.select(events.c.id, *columns).where(events.c.id > last)
                                  .order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            return head, count
        updates = []
        for row in rows:
            content = {name: getattr(row, name) for name in _FIELDS}
            content["at"] = None if content["at"] is None else content["at"].isoformat(timespec="microseconds")
            content["data"] = content["data"] or {}
            content["prev"] = head
            digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"),
                                               ensure_ascii=False).encode("utf-8")).hexdigest()
            updates.append({"b_id": row.id, "b_prev": head, "b_hash": digest})
            head = digest
        connection.execute(write, updates)
        count += len(rows)
        last = rows[-1].id


def _drop_triggers() -> None:
    for table in _TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        else:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _create_triggers(permit: bool) -> None:
    """Append-only again; with ``permit``, DELETE passes while the transaction holds a cleanup permit."""
    for table in _TABLES:
        message = f"{table} is append-only" if table == "history_events" else "comments are append-only"
        if op.get_bind().dialect.name == "postgresql":
            allow = ("IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM cleanup_permits) THEN RETURN OLD; END IF;"
                     if permit else "")
            op.execute(f"""CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
                BEGIN {allow} RAISE EXCEPTION '{message}'; END; $$ LANGUAGE plpgsql""")
            op.execute(f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""")
        else:
            for verb in ("UPDATE", "DELETE"):
                when = " WHEN NOT EXISTS (SELECT 1 FROM cleanup_permits)" if permit and verb == "DELETE" else ""
                op.execute(f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}{when}
                    BEGIN SELECT RAISE(ABORT, '{message}'); END""")
