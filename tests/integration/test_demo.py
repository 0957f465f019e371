"""`social-inbox demo` as a new user meets it: its accounts pass the password policy, every connector
polls the local replay server, an agent's reply on an item of each platform with a write API is
delivered to the replay server's stand-in for that platform and comes back as sent, and the parents
of its replies that no poll brought in are fetched from the replay server as thread context."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from inbox.domain.password_policy import problems
from inbox.domain.types import UserInfo
from inbox.errors import Conflict
from inbox.ingest.thread_context import fetch_thread_context
from inbox.ops.demo import DEMO_REPLY_TOKEN_ENV, DEMO_USERS, demo_settings, prepare, start_replay
from inbox.storage.repo._common import T_CONTEXT, T_ITEM, T_MENTION, T_REPLY
from inbox.storage.tables import ReplyStatus

WRITABLE = ("mastodon", "bluesky", "reddit", "x", "youtube")


def test_demo_passwords_pass_the_password_policy() -> None:
    for name, _role, _teams, password in DEMO_USERS:
        assert problems(password, user_name=name) == [], name


async def test_demo_polls_every_source_and_answers_on_each_platform(tmp_path: Path, clock: Any) -> None:
    from inbox.ops.services import Services
    from inbox.work.replies import ReplyService
    from inbox.work.reply_sender import ReplySender
    env = {DEMO_REPLY_TOKEN_ENV: "demo-reply-token"}
    replay, base = await start_replay()
    try:
        settings = demo_settings(base, {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
                                        "model_dir": str(tmp_path / "models")})
        polls = (await prepare(settings))["polls"]
        assert {p["connector"] for p in polls} == {c.name for c in settings.connectors}
        assert all(p["ok"] and p["ingested"] > 0 for p in polls), polls

        svc = await Services.open(settings, clock=clock)
        try:
            async with svc.engine.connect() as conn:
                rows = (await conn.execute(select(T_ITEM.c.id, T_MENTION.c.source)
                                           .join(T_MENTION, T_MENTION.c.id == T_ITEM.c.id)
                                           .order_by(T_ITEM.c.id))).all()
            by_source: dict[str, list[int]] = {}
            for item_id, source in rows:
                by_source.setdefault(source, []).append(item_id)
            admin = UserInfo(id=0, name="admin", role="admin", teams=())
            replies = ReplyService(svc.engine, settings, clock, env=env)
            for source in WRITABLE:
                assert replies.capability(source) is None, source
                row = None
                for item_id in by_source[source]:  # a YouTube video is answered on YouTube, not from here
                    try:
                        row = await replies.compose(admin, item_id, "Grazie, ci pensiamo noi — è già in viaggio")
                    except Conflict:
                        continue
                    break
                assert row is not None, f"no item of {source} can be answered"
                if row["status"] == ReplyStatus.PENDING_APPROVAL:
                    await replies.approve(admin, row["id"], "ok")
            for source in set(by_source) - set(WRITABLE):  # Hacker News and the feeds have no write API
                assert replies.capability(source) is not None, source

            sender = ReplySender(svc, env=env)
            try:
                await sender.run_once()
            finally:
                await sender.close()
            async with svc.engine.connect() as conn:
                sent = (await conn.execute(select(T_REPLY.c.connector, T_REPLY.c.status, T_REPLY.c.external_id,
                                                  T_REPLY.c.error))).all()

            # thread context: the parents the demo's polls did not bring in come from the replay server
            await fetch_thread_context(svc)
            async with svc.engine.connect() as conn:
                context = {(r.source, r.external_id): r for r in await conn.execute(select(T_CONTEXT))}
        finally:
            await svc.close()
    finally:
        await replay.cleanup()
    assert sorted(r.connector for r in sent) == sorted(WRITABLE)
    assert all(r.status == ReplyStatus.SENT and r.external_id for r in sent), sent
    assert set(context) == {("hackernews", "39600000"), ("reddit", "t3_1bb1fg6"), ("x", "2030328748569526280")}
    assert all(not r.gone and r.text for r in context.values()), context
