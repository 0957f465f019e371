"""mention.copy_key for the rows stored before 0018 (NULL until now: never hidden as a copy in the
queue, never counted as one): the key ingest writes (inbox.domain.near_duplicates.copy_key, the
normalisation of ``keys``), in batches of BATCH rows walked by id along ix_mention_copy_key
(copy_key NULL, id), so a table of millions is read a batch at a time. A text too short for a key
stays NULL and is walked past. PostgreSQL then ANALYZEs mention: with the statistics of before
(copy_key all NULL) the planner takes "copy_key IS NOT NULL" for a handful of rows and turns the
queue's copy test (repo.items.a_copy) into a walk of every key per queue item.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 21:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inbox.domain.near_duplicates import copy_key

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

BATCH = 2000

_NEXT = sa.text("SELECT id, text FROM mention WHERE copy_key IS NULL AND id > :after ORDER BY id LIMIT :n")
_SET = sa.text("UPDATE mention SET copy_key = :k WHERE id = :i")


def backfill(conn: sa.Connection, batch: int = BATCH) -> int:
    """Key every mention whose copy_key is NULL; returns how many got one."""
    after, keyed = 0, 0
    while True:
        rows = conn.execute(_NEXT, {"after": after, "n": batch}).all()
        if not rows:
            return keyed
        after = int(rows[-1][0])
        found = [{"i": int(i), "k": k} for i, t in rows if (k := copy_key(t or "")) is not None]
        if found:
            conn.execute(_SET, found)
            keyed += len(found)


def upgrade() -> None:
    conn = op.get_bind()
    if backfill(conn) and conn.dialect.name == "postgresql":
        op.execute("ANALYZE mention")


def downgrade() -> None:
    pass  # the keys are what ingest writes: 0018's downgrade drops the column
