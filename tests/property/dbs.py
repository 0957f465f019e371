"""Fresh databases for hypothesis examples, cheaply: a migrated SQLite template copied per example,
or one PostgreSQL database whose data tables are truncated between examples."""
from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text

from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts

DATA_TABLES = ("correction", "event", "routing_decision", "queue_item", "mention", "dead_letter", "notification",
               "crisis", "connector_state")


async def _migrate(settings: Any) -> None:
    svc = await Services.open(settings)
    try:
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
    finally:
        await svc.close()


class ExampleDatabases:
    """``url()`` gives an empty migrated database for the next example."""

    def __init__(self, kind: str, base: Path, settings_factory: Any, pg_url: str | None = None) -> None:
        self.kind = kind
        self.base = base
        self.settings_factory = settings_factory
        self.pg_url = pg_url
        self.last: Path | None = None
        if kind == "sqlite":
            self.template = base / "template.db"
            asyncio.run(_migrate(settings_factory(f"sqlite+aiosqlite:///{self.template}")))
        else:
            assert pg_url is not None
            asyncio.run(_migrate(settings_factory(pg_url)))

    def url(self) -> str:
        if self.kind == "sqlite":
            if self.last is not None:
                for f in self.base.glob(self.last.name + "*"):
                    f.unlink()
            path = self.last = self.base / f"ex-{uuid.uuid4().hex[:10]}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite+aiosqlite:///{path}"
        assert self.pg_url is not None
        asyncio.run(self._truncate(self.pg_url))
        return self.pg_url

    async def _truncate(self, url: str, tables: Sequence[str] = DATA_TABLES) -> None:
        from inbox.storage.engine import create_engine
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                existing = {r[0] for r in await conn.execute(text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}
                names = ", ".join(f'"{t}"' for t in tables if t in existing)
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()
