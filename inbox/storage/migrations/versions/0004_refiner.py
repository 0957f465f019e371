"""The background refiner: ``queue_item.refined_at``

The refiner (inbox/ingest/second_look.py) re-scores unclaimed, model-routed items with the slower blend of the
n-gram model and a sentence encoder.  ``refined_at`` marks an item it has seen (whatever the outcome),
so that it looks at each item once; ``ix_queue_item_refine`` (confidence, id) WHERE refined_at IS NULL
finds the next candidates, least confident first, without scanning the queue; being partial, it
holds only items not yet refined, so the claims and resolves of refined items never write to it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox.storage.column_types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_TS = inbox.storage.column_types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('queue_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refined_at', _TS, nullable=True))
        batch_op.create_index(
            "ix_queue_item_refine",
            ["confidence", "id"],
            unique=False,
            sqlite_where=sa.text("refined_at IS NULL"),
            postgresql_where=sa.text("refined_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table('queue_item', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_item_refine')
        batch_op.drop_column('refined_at')
