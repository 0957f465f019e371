"""mention.copy_key: copies of one post (the normalised words with their numbers, hashed), indexed
with the id so a queue row finds an older open copy by one index probe

Written by ingest; rows stored before are keyed by 0020.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 02:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both back ends (SQLite >= 3.35 drops a column in place): a batch
# operation would copy and drop ``mention`` on SQLite, and dropping it deletes every queue item
# through their ON DELETE CASCADE key.


def upgrade() -> None:
    op.add_column('mention', sa.Column('copy_key', sa.String(length=16), nullable=True))
    op.create_index('ix_mention_copy_key', 'mention', ['copy_key', 'id'])


def downgrade() -> None:
    op.drop_index('ix_mention_copy_key', table_name='mention')
    op.execute("ALTER TABLE mention DROP COLUMN copy_key")
