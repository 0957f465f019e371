"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 22:28:09.343032
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import inbox.storage.column_types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('connector_state',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cursor', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('lease_expires_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_poll_started_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_error_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('mentions_fetched', sa.Integer(), nullable=False),
    sa.Column('healthy', sa.Boolean(), nullable=False),
    sa.Column('next_poll_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('dead_letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('raw', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'digest', name='uq_dead_letter_source_digest')
    )
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letter_source'), ['source'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_event_kind_created', ['kind', 'created_at'], unique=False)

    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempt_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_name'), ['name'], unique=False)

    op.create_table('mention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('author_handle', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('author_followers', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('lang', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reply_to_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('thread_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('is_repost', sa.Boolean(), nullable=False),
    sa.Column('original_external_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('edited_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('cluster_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_id', name='uq_mention_source_external')
    )
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mention_cluster_key'), ['cluster_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_mention_fetched_at'), ['fetched_at'], unique=False)

    op.create_table('model_version',
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('promoted_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('team',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('from_team', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('to_team', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('predicted_label', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_mention_id'), ['mention_id'], unique=False)

    op.create_table('membership',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['team'], ['team.name'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'team')
    )
    op.create_table(
        "queue_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "watchers", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("lease_expires_at", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_due", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolve_due", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_paused_at", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_touched_at", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_first_response", sa.Boolean(), nullable=False),
        sa.Column("breached_resolution", sa.Boolean(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("created_at", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(["id"], ["mention.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["team"],
            ["team.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table('queue_item', schema=None) as batch_op:
        batch_op.create_index('ix_queue_item_assignee', ['assignee_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_item_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_item_lease_expires_at'), ['lease_expires_at'], unique=False)
        batch_op.create_index('ix_queue_item_queue', ['team', 'status', 'priority', 'first_response_due'], unique=False)

    op.create_table(
        "routing_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "probabilities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "watchers", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "explanation", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("created_at", inbox.storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mention.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_decision_mention_id'), ['mention_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_decision_mention_id'))

    op.drop_table('routing_decision')
    with op.batch_alter_table('queue_item', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_item_queue')
        batch_op.drop_index(batch_op.f('ix_queue_item_lease_expires_at'))
        batch_op.drop_index(batch_op.f('ix_queue_item_created_at'))
        batch_op.drop_index('ix_queue_item_assignee')

    op.drop_table('queue_item')
    op.drop_table('membership')
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_mention_id'))
        batch_op.drop_index(batch_op.f('ix_correction_created_at'))

    op.drop_table('correction')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    op.drop_table('user_account')
    op.drop_table('team')
    op.drop_table('model_version')
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mention_fetched_at'))
        batch_op.drop_index(batch_op.f('ix_mention_cluster_key'))

    op.drop_table('mention')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_name'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_created_at'))

    op.drop_table('login_attempt')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_kind_created')
        batch_op.drop_index(batch_op.f('ix_event_item_id'))

    op.drop_table('event')
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letter_source'))

    op.drop_table('dead_letter')
    op.drop_table('connector_state')

