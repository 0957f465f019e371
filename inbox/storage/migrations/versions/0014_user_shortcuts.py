"""user_shortcuts: each user's keyboard shortcuts (off, or other keys), as JSON text

NULL is the default keys, on. The web app reads and writes it (inbox/web/shortcuts.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('shortcuts', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('shortcuts')
