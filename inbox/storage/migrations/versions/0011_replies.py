"""reply: the outbox of answers sent through the platforms' write APIs; queue_item.first_response_at

A reply row commits with its audit event; the sender leases due rows (SKIP LOCKED on PostgreSQL),
marks them ``sending`` before the request and ``sent``/``failed`` after it. The first sent reply
sets the item's ``first_response_at``, which stops its first-response SLA clock.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inbox.storage.column_types import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('connector', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('parent_external_id', sa.String(length=512), nullable=False),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('author', sa.String(length=64), nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.Column('lease_owner', sa.String(length=128), nullable=True),
        sa.Column('lease_expires_at', UTCDateTime(), nullable=True),
        sa.Column('first_sent_at', UTCDateTime(), nullable=True),
        sa.Column('in_doubt', sa.Boolean(), nullable=False),
        sa.Column('external_id', sa.String(length=512), nullable=True),
        sa.Column('url', sa.String(), nullable=True),
        sa.Column('error', sa.String(), nullable=True),
        sa.Column('error_status', sa.Integer(), nullable=True),
        sa.Column('reviewer', sa.String(length=64), nullable=True),
        sa.Column('review_note', sa.String(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['mention.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
    )
    op.create_index('ix_reply_due', 'reply', ['status', 'next_attempt_at'])
    op.create_index('ix_reply_item', 'reply', ['item_id', 'id'])
    with op.batch_alter_table('queue_item') as batch:
        batch.add_column(sa.Column('first_response_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('queue_item') as batch:
        batch.drop_column('first_response_at')
    op.drop_index('ix_reply_item', table_name='reply')
    op.drop_index('ix_reply_due', table_name='reply')
    op.drop_table('reply')
