"""Indexes for the item page at a million mentions

``ix_mention_source_thread`` (source, thread_id): the item page lists the other mentions of the
same conversation (``views.thread_items``: same source and thread id, or the post replied to).
Without it that lookup scanned the whole mention table (430 ms on SQLite, 140 ms on PostgreSQL
at 1,000,000 mentions, bench/api.py --explain); with it, two index probes OR-ed together (the
external id side uses the unique (source, external_id) index).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 02:10:00
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_mention_source_thread', 'mention', ['source', 'thread_id'])


def downgrade() -> None:
    op.drop_index('ix_mention_source_thread', table_name='mention')
