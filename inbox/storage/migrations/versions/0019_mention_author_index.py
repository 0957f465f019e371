"""mention (source, author_handle, id): the item page's "earlier mentions by this author" reads one
index range, newest first, instead of every mention of the source

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 02:10:00
"""
from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_mention_source_author', 'mention', ['source', 'author_handle', 'id'])


def downgrade() -> None:
    op.drop_index('ix_mention_source_author', table_name='mention')
