"""search index: full-text search over mention text and author, case and accents folded

SQLite: an FTS5 table ``mention_fts`` over ``mention`` (external content, so the text is stored
once) with the ``unicode61 remove_diacritics 2`` tokenizer, kept in step by triggers on mention
INSERT, UPDATE and DELETE: the index row is written by the statement that writes the mention, in
its transaction, whichever code path writes it (ingest, bulk import, erase).

PostgreSQL: a text search configuration ``inbox_search`` (the ``simple`` parser, words through
``unaccent`` then ``simple``: lower case, accents folded, no stemming, so English and Italian words
are treated alike) and a stored generated column ``mention.search_vector`` with a GIN index; the
column is computed by the same INSERT or UPDATE. Adding the column fills it for existing rows.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 22:10:00
"""
from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE mention_fts USING fts5(text, author_handle, content='mention', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER mention_fts_ai AFTER INSERT ON mention BEGIN "
    "INSERT INTO mention_fts(rowid, text, author_handle) VALUES (new.id, new.text, new.author_handle); END",
    "CREATE TRIGGER mention_fts_ad AFTER DELETE ON mention BEGIN "
    "INSERT INTO mention_fts(mention_fts, rowid, text, author_handle) "
    "VALUES ('delete', old.id, old.text, old.author_handle); END",
    "CREATE TRIGGER mention_fts_au AFTER UPDATE OF text, author_handle ON mention BEGIN "
    "INSERT INTO mention_fts(mention_fts, rowid, text, author_handle) "
    "VALUES ('delete', old.id, old.text, old.author_handle); "
    "INSERT INTO mention_fts(rowid, text, author_handle) VALUES (new.id, new.text, new.author_handle); END",
    "INSERT INTO mention_fts(mention_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = ["DROP TRIGGER IF EXISTS mention_fts_au", "DROP TRIGGER IF EXISTS mention_fts_ad",
                "DROP TRIGGER IF EXISTS mention_fts_ai", "DROP TABLE IF EXISTS mention_fts"]

_PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS inbox_search",
    "CREATE TEXT SEARCH CONFIGURATION inbox_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION inbox_search ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, simple",
    "ALTER TABLE mention ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('inbox_search'::regconfig, coalesce(text, '') || ' ' || coalesce(author_handle, ''))) STORED",
    "CREATE INDEX ix_mention_search ON mention USING gin (search_vector)",
]
_PG_DOWN = ["DROP INDEX IF EXISTS ix_mention_search", "ALTER TABLE mention DROP COLUMN IF EXISTS search_vector",
            "DROP TEXT SEARCH CONFIGURATION IF EXISTS inbox_search"]


def upgrade() -> None:
    for stmt in (_PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP):
        op.execute(stmt)


def downgrade() -> None:
    for stmt in (_PG_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN):
        op.execute(stmt)
