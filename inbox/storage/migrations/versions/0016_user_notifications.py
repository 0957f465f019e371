"""user notifications: the in-app notifications for people, and each user's preferences for them

``user_notification`` holds one row per person told about an item (assigned, @-mentioned in a
note, SLA due soon, reply failed, approval needed), unique per (user, dedupe_key);
``user_account.notify_prefs`` holds the kinds a user keeps on and whether the browser may show
them (JSON text; NULL is every kind, no browser pop-ups).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 01:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inbox.storage.column_types import JSONType, UTCDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('data', JSONType, nullable=True),
        sa.Column('dedupe_key', sa.String(length=255), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('read_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'dedupe_key', name='uq_user_notification_key'),
    )
    op.create_index('ix_user_notification_user', 'user_notification', ['user_id', 'id'])
    op.create_index('ix_user_notification_item_id', 'user_notification', ['item_id'])
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('notify_prefs', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('notify_prefs')
    op.drop_index('ix_user_notification_item_id', table_name='user_notification')
    op.drop_index('ix_user_notification_user', table_name='user_notification')
    op.drop_table('user_notification')
