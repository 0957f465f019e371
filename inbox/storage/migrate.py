"""Schema migrations with Alembic, run programmatically: ``upgrade(engine)`` brings any database
to head and is safe to run twice (and concurrently on PostgreSQL: an advisory lock serialises it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.storage.engine import reader

__all__ = ["upgrade", "current_revision", "head_revision", "alembic_config"]

_HERE = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x5E1B0C5  # advisory lock id for migrations on PostgreSQL


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to ``revision``."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            await conn.commit()
        try:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))
            await conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                await conn.commit()


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.connect() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))
        await conn.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with reader(engine).connect() as conn:  # a read: on SQLite no write lock
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
