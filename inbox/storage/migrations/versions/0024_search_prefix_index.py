"""search index: FTS5 prefix indexes for prefixes of 2, 3 and 4 characters (SQLite)

A prefix query (``refu*``) without a prefix index merges the doclists of every word that starts
with the prefix, for each statement that reads it: counting, matching and the snippets, several
milliseconds each at a million mentions. With ``prefix='2 3 4'`` FTS5 keeps those merged doclists
ready for prefixes of those lengths, and such a query reads like a single word (0.07 ms instead of
5.5 ms to count a prefix's matches, bench/RESULTS.md). The index is about three times larger
(28 to 86 MB at a million mentions); rebuilding it takes about 11 s per million mentions.

The table is made again with the same name, so the triggers of migration 0015 keep writing it.
PostgreSQL's GIN index answers ``:*`` prefixes itself: nothing changes there.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 12:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

_TABLE = ("CREATE VIRTUAL TABLE mention_fts USING fts5(text, author_handle, content='mention', content_rowid='id', "
          "tokenize='unicode61 remove_diacritics 2'{prefix})")


def _remake(prefix: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS mention_fts")
    op.execute(_TABLE.format(prefix=prefix))
    op.execute("INSERT INTO mention_fts(mention_fts) VALUES ('rebuild')")


def upgrade() -> None:
    _remake(", prefix='2 3 4'")


def downgrade() -> None:
    _remake("")
