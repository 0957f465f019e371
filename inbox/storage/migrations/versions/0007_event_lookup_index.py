"""event (item_id, id): an item's latest event in one index probe

The live fan-out asks, for every changed item, its latest event id (``max(id) WHERE item_id = ?``,
repo.views.item_states) and the item page lists an item's events in id order. With an index on
item_id alone PostgreSQL may answer that max() by walking the event table's primary key backwards
and filtering on item_id, which it prefers when the table has no statistics (autovacuum off, a
fresh import): 60,000 events walked for the oldest item of a 20,000-item queue, and the event table
is the largest of all. The same mis-plan as routing_decision's in revision 0005, with the same
cure: (item_id, id) replaces the old index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 23:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_item', ['item_id', 'id'], unique=False)
        batch_op.drop_index('ix_event_item_id')


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_item_id', ['item_id'], unique=False)
        batch_op.drop_index('ix_event_item')
