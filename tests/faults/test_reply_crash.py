"""Nothing is posted twice when the reply sender dies: a real `social-inbox replies send --once`
process is SIGKILLed between the platforms' answers and the commit that records them (and, in a
second case, after its claim but before any request), on SQLite and PostgreSQL. The next sender
finds the replies still ``sending`` once their lease ran out, looks on each platform for the
account's own reply (Mastodon: resends under the same Idempotency-Key), and records them as sent
without a second post; the replies that never went out are sent once."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from inbox.domain.clock import FakeClock
from inbox.storage.db_clock import db_now
from inbox.storage.repo import accounts
from inbox.storage.repo._common import T_ITEM, T_REPLY
from inbox.work.replies import ReplyService
from inbox.work.reply_sender import ReplySender
from tests.conftest import ROOT
from tests.replies_platform import CONNECTORS, ENV, FakePlatforms, connector_tables, parent_mentions

SI = str(Path(sys.executable).parent / "social-inbox")


def _toml(tables: list[dict[str, Any]]) -> str:
    out = []
    for t in tables:
        out.append("[[connectors]]")
        for k, v in t.items():
            out.append(f"{k} = " + ("true" if v is True else f'"{v}"' if isinstance(v, str)
                                    else "[" + ", ".join(f'"{x}"' for x in v) + "]"))
        out.append("")
    return "\n".join(out)


async def _killed_at(point: str, cfg: Path, db_url: str, tmp: Path) -> None:
    marker = tmp / f"paused-{point}"
    env = {**os.environ, **ENV, "INBOX_DATABASE_URL": db_url, "INBOX_PAUSE_AT": point,
           "INBOX_PAUSE_FILE": str(marker)}
    p = await asyncio.create_subprocess_exec(SI, "--config", str(cfg), "replies", "send", "--once", env=env,
                                             cwd=str(ROOT), stdout=asyncio.subprocess.DEVNULL,
                                             stderr=asyncio.subprocess.PIPE)
    for _ in range(600):
        if marker.exists() or p.returncode is not None:
            break
        await asyncio.sleep(0.05)
    assert marker.exists(), f"the sender never reached {point}: {(await p.stderr.read()).decode()[-500:]}"  # type: ignore[union-attr]
    p.send_signal(signal.SIGKILL)
    await p.wait()


@pytest.mark.parametrize("point", ["reply_after_request", "reply_before_request"])
async def test_a_killed_sender_never_posts_twice(point: str, db_url: str, settings_factory: Any,
                                                 fake_classifier: Any, tmp_path: Path) -> None:
    from inbox.ingest.classifier import ClassifierHolder
    from inbox.ops.services import Services
    from inbox.storage import migrate
    fake = FakePlatforms()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    tables = connector_tables(base)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text((ROOT / "config" / "inbox.toml").read_text() + "\n" + _toml(tables))
    clock = FakeClock(datetime.now(UTC))
    svc = await Services.open(settings_factory(db_url, connectors=tables), clock=clock)
    sender = ReplySender(svc, env=ENV)
    try:
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(svc.settings.teams, conn=conn, now=clock.now())
            admin = await accounts.add_user("root", "admin", [], None, conn=conn, now=clock.now())
        svc.classifier = ClassifierHolder(fake_classifier)
        await (await svc.ready_pipeline()).ingest(parent_mentions())
        async with svc.engine.connect() as conn:
            ids = [r[0] for r in await conn.execute(select(T_ITEM.c.id))]
        composer = ReplyService(svc.engine, svc.settings, clock, env=ENV)
        for iid in ids:
            await composer.compose(admin, iid, f"reply to {iid} — grazie")

        await _killed_at(point, cfg, db_url, tmp_path)
        async with svc.engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(select(T_REPLY))]
        assert {r["status"] for r in rows} == {"sending"}  # the kill left them in flight
        sent_before = {p: len(fake.delivered(p)) for p in CONNECTORS}
        assert sent_before == {p: 1 if point == "reply_after_request" else 0 for p in CONNECTORS}

        clock.advance(timedelta(minutes=2))  # the service's clock does not end a lease: the database's does
        assert (await sender.run_once())["sent"] == 0  # the dead sender's lease still holds
        async with svc.engine.begin() as conn:  # its lease runs out
            await conn.execute(update(T_REPLY).values(lease_expires_at=db_now(-timedelta(seconds=1))))
        counts = await sender.run_once()
        assert counts["sent"] == 5, counts
        async with svc.engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(select(T_REPLY))]
        for p in CONNECTORS:
            assert len(fake.delivered(p)) == 1, (p, fake.writes)
        assert {r["status"] for r in rows} == {"sent"}
        ours = {r["platform"]: r["external_id"] for r in rows}
        assert ours["x"] == fake.posts["x"][0]["id"] and ours["reddit"] == fake.posts["reddit"][0]["name"]
        assert ours["bluesky"] == fake.posts["bluesky"][0]["uri"]
        clock.advance(timedelta(hours=1))
        await sender.run_once()
        assert all(len(fake.delivered(p)) == 1 for p in CONNECTORS)
    finally:
        await sender.close()
        await svc.close()
        await server.close()
