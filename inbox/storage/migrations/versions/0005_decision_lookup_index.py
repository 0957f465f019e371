"""routing_decision (mention_id, id): the latest decision of a mention in one index probe

Every item summary (claim, status change, item page, queue page) joins the mention's latest routing
decision, ``max(id) WHERE mention_id = ?``. With an index on mention_id alone PostgreSQL may answer
that max() by walking the primary key backwards and filtering on mention_id, which it prefers when
the table has no statistics (autovacuum off, or a bulk import not yet analyzed): the cost then grows
with the number of decisions newer than the item's, and claims of old items slowed down as the table
grew (bench/claims.py: 4,000 → 16,000 queued items halved the claim rate). With (mention_id, id)
the max() is the first entry of one index range on every plan, so this index replaces the old one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 22:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.create_index('ix_routing_decision_mention', ['mention_id', 'id'], unique=False)
        batch_op.drop_index('ix_routing_decision_mention_id')


def downgrade() -> None:
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.create_index('ix_routing_decision_mention_id', ['mention_id'], unique=False)
        batch_op.drop_index('ix_routing_decision_mention')
