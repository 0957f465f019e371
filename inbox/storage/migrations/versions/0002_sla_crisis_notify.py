"""SLA sweep, auto-assignment, crisis detection and notifications

Adds the ``crisis`` table (one OPEN crisis per subject: a partial unique index), the
``notification`` outbox / delivery log, ``queue_item.assigned_at`` and
``membership.last_assigned_seq`` (round-robin position), and the indexes the breach sweep, the
high-priority scan and the metrics need. Runs on SQLite (batch mode) and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 22:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import inbox.storage.column_types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
_TS = inbox.storage.column_types.UTCDateTime(timezone=True)
_OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        'crisis',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('cluster_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('window_start', _TS, nullable=False),
        sa.Column('window_end', _TS, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('baseline_mean', sa.Float(), nullable=False),
        sa.Column('baseline_std', sa.Float(), nullable=False),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('data', _JSON, nullable=True),
        sa.Column('opened_at', _TS, nullable=False),
        sa.Column('last_spike_at', _TS, nullable=False),
        sa.Column('closed_at', _TS, nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('crisis', schema=None) as batch_op:
        batch_op.create_index('uq_crisis_open_subject', ['subject'], unique=True,
                              sqlite_where=_OPEN, postgresql_where=_OPEN)
        batch_op.create_index('ix_crisis_opened_at', ['opened_at'], unique=False)

    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('crisis_id', sa.Integer(), nullable=True),
        sa.Column('payload', _JSON, nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', _TS, nullable=False),
        sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column('lease_expires_at', _TS, nullable=True),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('log', _JSON, nullable=False),
        sa.Column('created_at', _TS, nullable=False),
        sa.Column('delivered_at', _TS, nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notification_item', ['item_id', 'kind'], unique=False)
        batch_op.create_index('ix_notification_created', ['created_at'], unique=False)

    with op.batch_alter_table('queue_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_at', _TS, nullable=True))
        batch_op.create_index('ix_queue_item_frt_sweep', ['breached_first_response', 'first_response_due'])
        batch_op.create_index('ix_queue_item_res_sweep', ['breached_resolution', 'resolve_due'])
        batch_op.create_index('ix_queue_item_status_created', ['status', 'created_at'])
        batch_op.create_index('ix_queue_item_priority_created', ['priority', 'created_at'])
        batch_op.create_index('ix_queue_item_crisis', ['crisis_id'])

    op.create_index('ix_queue_item_claim', 'queue_item',
                    ['team', 'status', sa.text('priority DESC'), 'first_response_due', 'id'])

    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_assigned_seq', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('last_assigned_seq')
    op.drop_index('ix_queue_item_claim', table_name='queue_item')
    with op.batch_alter_table('queue_item', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_item_crisis')
        batch_op.drop_index('ix_queue_item_priority_created')
        batch_op.drop_index('ix_queue_item_status_created')
        batch_op.drop_index('ix_queue_item_res_sweep')
        batch_op.drop_index('ix_queue_item_frt_sweep')
        batch_op.drop_column('assigned_at')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_created')
        batch_op.drop_index('ix_notification_item')
        batch_op.drop_index('ix_notification_due')
    op.drop_table('notification')
    with op.batch_alter_table('crisis', schema=None) as batch_op:
        batch_op.drop_index('ix_crisis_opened_at')
        batch_op.drop_index('uq_crisis_open_subject')
    op.drop_table('crisis')
