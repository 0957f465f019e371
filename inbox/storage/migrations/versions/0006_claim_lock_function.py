"""PostgreSQL function ``inbox_lock_open_claims``: a claim in one statement

A claim must not take an agent past their capacity when two sessions of the same agent (two tabs,
the auto-assigner) claim at once. It used to be four round trips: BEGIN, lock the agent's row,
the claim statement (count the open claims, pick and mark the item, audit event, NOTIFY), COMMIT.
The lock had to be a statement of its own because under READ COMMITTED a statement sees the
database as of its start: a count taken in the statement that waited for the lock would miss the
claim that the lock's previous holder had just committed.

This function takes the agent's row lock and then counts the agent's open claims in a query of
its own. A VOLATILE PL/pgSQL function gives each query inside it a new snapshot, so the count is
taken after the lock is granted and sees every claim committed before it. Called from the claim
statement, it makes the whole claim one autocommitted statement, with the lock held until that
statement commits. It uses the same row lock as the auto-assigner (which skips locked agents).

SQLite has one writer at a time (BEGIN IMMEDIATE), so the function does not exist there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 22:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_CREATE = """
CREATE OR REPLACE FUNCTION inbox_lock_open_claims(p_user_id integer, p_now timestamptz) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM user_account WHERE id = p_user_id FOR UPDATE;
    RETURN (SELECT count(*) FROM queue_item
            WHERE assignee_id = p_user_id AND status = 'claimed'
              AND (lease_expires_at IS NULL OR lease_expires_at >= p_now));
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS inbox_lock_open_claims(integer, timestamptz)")
