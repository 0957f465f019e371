"""governance: tombstones of erased mentions, versions of the configuration edited in the app

``tombstone`` keeps the (source, external_id) key of each mention erased on request, so a later
poll or import does not store it again. ``config_revision`` holds each version of a configuration
section (connectors, rules, teams) edited through the admin API or pages.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inbox.storage.column_types import JSONType, UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'tombstone',
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('external_id', sa.String(length=512), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('source', 'external_id'),
    )
    op.create_table(
        'config_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('section', sa.String(length=32), nullable=False),
        sa.Column('document', JSONType, nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_config_revision_section', 'config_revision', ['section', 'id'])


def downgrade() -> None:
    op.drop_index('ix_config_revision_section', table_name='config_revision')
    op.drop_table('config_revision')
    op.drop_table('tombstone')
