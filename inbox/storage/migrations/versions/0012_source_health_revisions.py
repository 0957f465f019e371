"""Sources that tell the truth: connector_state.health_reason, warnings, last_poll;
mention.provenance; mention_revision (a mention's earlier texts, kept when it is edited)

``health_reason`` says why a source that polls fine is still unhealthy (its last poll read nothing
but dead-lettered items or warnings); ``warnings`` are the source warnings of its last poll that
read anything (a feed recovered by the lenient parser, a charset detected, dates passed over);
``last_poll`` counts what that poll read, stored, dead-lettered and warned. ``provenance`` says
where a mention's field came from when it is not the platform's usual one. A mention_revision row
keeps a text an edit replaced, with the time it was current from.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:20:00
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from inbox.storage.column_types import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('connector_state') as batch:
        batch.add_column(sa.Column('health_reason', sa.String(), nullable=True))
        batch.add_column(sa.Column('warnings', _json(), nullable=True))
        batch.add_column(sa.Column('warnings_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('last_poll', _json(), nullable=True))
    with op.batch_alter_table('mention') as batch:
        batch.add_column(sa.Column('provenance', _json(), nullable=True))
    op.create_table(
        'mention_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mention_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('edited_at', UTCDateTime(), nullable=True),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_mention_revision_mention', 'mention_revision', ['mention_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_mention_revision_mention', table_name='mention_revision')
    op.drop_table('mention_revision')
    with op.batch_alter_table('mention') as batch:
        batch.drop_column('provenance')
    with op.batch_alter_table('connector_state') as batch:
        batch.drop_column('last_poll')
        batch.drop_column('warnings_at')
        batch.drop_column('warnings')
        batch.drop_column('health_reason')
