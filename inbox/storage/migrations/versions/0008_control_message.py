"""control_message: the service's control channel (model promoted, settings changed, authorisation
changed), heard by every instance whatever its role

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import inbox.storage.column_types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("origin", sa.String(length=128), nullable=False),
        sa.Column("created_at", inbox.storage.column_types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table('control_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_control_message_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('control_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_control_message_created_at'))
    op.drop_table('control_message')
