"""login_throttle: failed logins per user, per address and per user from one address

One row per key with the failures of the current window and until when the key is refused. Each
login attempt updates its rows with one conditional UPDATE before the password is checked, so
concurrent attempts are all counted (the count read before the attempt was recorded let 40
concurrent wrong passwords through).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inbox.storage.column_types import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_throttle',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_start', UTCDateTime(), nullable=False),
        sa.Column('blocked_until', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
