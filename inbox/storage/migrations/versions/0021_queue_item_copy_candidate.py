"""queue_item.copy_candidate and its partial index ix_queue_item_copies (team, status,
first_response_due) WHERE copy_candidate: the items whose mention had an older mention with the
same copy_key when ingested (or edited). The queue hides such an item while an older copy is open
in its team; the counts subtract the hidden ones found among these few rows instead of probing for
an original behind every open item.

Marks the items stored before, in batches of BATCH mentions by id (one index probe for an older
copy each).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 22:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

BATCH = 5000

_MAX = sa.text("SELECT max(id) FROM mention")
_MARK = sa.text(
    "UPDATE queue_item SET copy_candidate = true WHERE id IN ("
    " SELECT m.id FROM mention m WHERE m.id > :lo AND m.id <= :hi AND m.copy_key IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM mention o WHERE o.copy_key = m.copy_key AND o.id < m.id))")


def mark(conn: sa.Connection, batch: int = BATCH) -> int:
    """Mark every item with an older copy of its mention; returns how many were marked."""
    top, lo, marked = conn.execute(_MAX).scalar() or 0, 0, 0
    while lo < top:
        marked += conn.execute(_MARK, {"lo": lo, "hi": lo + batch}).rowcount or 0
        lo += batch
    return marked


def upgrade() -> None:
    op.add_column('queue_item', sa.Column('copy_candidate', sa.Boolean(), nullable=False,
                                          server_default=sa.text('false')))
    op.create_index('ix_queue_item_copies', 'queue_item', ['team', 'status', 'first_response_due'],
                    sqlite_where=sa.text('copy_candidate = 1'), postgresql_where=sa.text('copy_candidate'))
    if mark(op.get_bind()) and op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE queue_item")  # the planner learns how few rows the partial index holds


def downgrade() -> None:
    op.drop_index('ix_queue_item_copies', table_name='queue_item')
    # plain ALTER TABLE, as in 0018: a batch operation would copy and drop queue_item on SQLite
    op.execute("ALTER TABLE queue_item DROP COLUMN copy_candidate")
