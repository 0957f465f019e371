"""context_post: the posts mentions answer (parent, thread start), fetched from the platforms

A mention's ``reply_to_id`` / ``thread_id`` names a post that was not polled as a mention; the
thread-context job (inbox/work/thread_context.py) fetches it and keeps it here, keyed like the
mention names it, so the item page shows it above the mention. ``gone`` remembers a post the
platform says does not exist.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inbox.storage.column_types import UTCDateTime

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'context_post',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('external_id', sa.String(length=512), nullable=False),
        sa.Column('author_handle', sa.String(length=256), nullable=True),
        sa.Column('author_name', sa.String(length=256), nullable=True),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('url', sa.String(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=True),
        sa.Column('fetched_at', UTCDateTime(), nullable=False),
        sa.Column('gone', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'external_id', name='uq_context_post_source_external'),
    )
    op.create_index('ix_context_post_author', 'context_post', ['author_handle'])


def downgrade() -> None:
    op.drop_index('ix_context_post_author', table_name='context_post')
    op.drop_table('context_post')
