"""`init` on a new database records the settings file's connectors, rules and teams as their first
versions (actor ``seed``): from then on the database's configuration is in force on every instance,
whatever file an instance starts with; `init` again adds nothing."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text

from inbox.ops.services import Services
from inbox.settings import RuleSettings
from inbox.storage.engine import reader
from inbox.storage.repo import config_store


async def _history(svc: Services) -> dict[str, list[str]]:
    async with reader(svc.engine).connect() as conn:
        return {s: [str(v["actor"]) for v in await config_store.history(s, conn=conn)]
                for s in ("connectors", "rules", "teams")}


async def test_init_seeds_a_new_database_from_the_file(db_url: str, settings_factory: Any, clock: Any) -> None:
    settings = settings_factory(db_url)
    assert settings.rules and settings.teams
    svc = await Services.open(settings, clock=clock)
    try:
        await svc.init_schema()
        assert await _history(svc) == {"connectors": ["seed"], "rules": ["seed"], "teams": ["seed"]}
        assert svc.settings.rules == settings.rules and svc.config_versions.keys() == {"connectors", "rules", "teams"}
    finally:
        await svc.close()
    # another instance started with a different file: the database's sections are in force
    other = settings.model_copy(update={"rules": [RuleSettings(name="elsewhere", keywords=["x"], team="pr")]})
    svc = await Services.open(other, clock=clock)
    try:
        assert [r.name for r in svc.settings.rules] == [r.name for r in settings.rules]
        await svc.init_schema()  # not a new database: nothing is written
        assert await _history(svc) == {"connectors": ["seed"], "rules": ["seed"], "teams": ["seed"]}
        async with reader(svc.engine).connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM event WHERE kind LIKE 'config%'"))).scalar_one() == 0
    finally:
        await svc.close()
