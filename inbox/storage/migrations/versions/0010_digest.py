"""digest_recipient and digest_run: who receives each audience's brief, and each brief sent

An audience is a team's name or "executive". A run is unique per (audience, period_end), so the
instance that inserts it is the one that sends it: a brief goes out once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:10:00
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from inbox.storage.column_types import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'digest_recipient',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('audience', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('audience', 'email', name='uq_digest_recipient'),
    )
    op.create_table(
        'digest_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('audience', sa.String(length=64), nullable=False),
        sa.Column('period_start', UTCDateTime(), nullable=False),
        sa.Column('period_end', UTCDateTime(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('brief', _json(), nullable=True),
        sa.Column('deliveries', _json(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_expires_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('audience', 'period_end', name='uq_digest_run_period'),
    )
    op.create_index('ix_digest_run_created', 'digest_run', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_digest_run_created', table_name='digest_run')
    op.drop_table('digest_run')
    op.drop_table('digest_recipient')
