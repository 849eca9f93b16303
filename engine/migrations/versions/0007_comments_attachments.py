"""Comments and attachments (issue 14)

* ``comments``: a comment on an instance or one of its tasks; append-only (triggers refuse UPDATE and
  DELETE on both databases, as on ``history_events``).
* ``attachments``: files uploaded to an instance or a task: name, type, size, sha256 and who uploaded
  them; the bytes in ``content``, or NULL when kept as a file in ``LIUCHENG_FILES_DIR``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('author', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
        sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_comments_instance_id', 'comments', ['instance_id'], unique=False)
    op.create_index('ix_comments_task_id', 'comments', ['task_id'], unique=False)
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=128), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
        sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_attachments_instance_id', 'attachments', ['instance_id'], unique=False)
    # Comments are append-only: the database itself refuses UPDATE and DELETE.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""CREATE FUNCTION comments_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'comments are append-only'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER comments_no_change BEFORE UPDATE OR DELETE ON comments
            FOR EACH ROW EXECUTE FUNCTION comments_append_only()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER comments_no_{verb.lower()} BEFORE {verb} ON comments
                BEGIN SELECT RAISE(ABORT, 'comments are append-only'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS comments_no_change ON comments")
        op.execute("DROP FUNCTION IF EXISTS comments_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS comments_no_{verb}")
    op.drop_index('ix_attachments_instance_id', table_name='attachments')
    op.drop_table('attachments')
    op.drop_index('ix_comments_task_id', table_name='comments')
    op.drop_index('ix_comments_instance_id', table_name='comments')
    op.drop_table('comments')
