"""Alembic environment: runs on the connection handed in by inbox.storage.migrate (sync, inside
``AsyncConnection.run_sync``), so the same migrations run on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic import context

from inbox.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI directly
    raise RuntimeError("run migrations through `social-inbox init` (inbox.storage.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER TABLE via batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
