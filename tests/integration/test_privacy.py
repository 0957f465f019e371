"""Erasure and subject export on both back ends: after ``privacy erase`` no text column of any
table holds the author's words, tombstones keep a re-ingest from bringing them back, other authors
are intact, and one audit event records it without the erased data. Retention on a fake clock."""
from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text

from connectors.base import Mention, Reject
from connectors.context import ContextPost
from inbox.storage.repo import accounts, context_posts
from inbox.storage.repo._common import T_DIGEST_RUN, T_REPLY
from inbox.work import privacy
from inbox.work.item_actions import WorkService
from inbox.work.retention import run_retention

WORD, NOTE_WORD = "brontolone", "ciclamino"


def _his(i: int, source: str = "a") -> Mention:
    return Mention(source=source, platform="import", external_id=f"m{i}", author_handle="@Mario.Rossi",
                   text=f"my order {i} is broken, says the {WORD}", raw={"author": "@mario.rossi", "n": i})


def _other(i: int) -> Mention:
    return Mention(source="a", platform="import", external_id=f"o{i}", author_handle="@jane",
                   text=f"my order {i} is late, refund please", raw={"author": "@jane"})


async def _everything(svc: Any) -> str:
    """Every value of every column of every table, as one string: on PostgreSQL each column read as
    text (the search index's tsvector, stemmed, included), on SQLite each value as stored."""
    pg = svc.engine.dialect.name == "postgresql"
    async with svc.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        out = []
        for t in names:
            cols = await conn.run_sync(lambda c, t=t: inspect(c).get_columns(t))
            for c in (c["name"] for c in cols):
                rows = await conn.execute(text(f'SELECT CAST("{c}" AS TEXT) FROM "{t}"' if pg else
                                               f'SELECT "{c}" FROM "{t}"'))
                out += [json.dumps(r[0], default=str) if not isinstance(r[0], str) else r[0] for r in rows]
    assert len(out) > 20  # the scan saw the data
    return "\n".join(out)


def _his_refused() -> Reject:
    return Reject(source="a", position=3, reason="bad date",
                  raw=json.dumps({"id": "m9", "author": "@mario.rossi", "text": f"rotta del {WORD}"}))


async def _seed(svc: Any) -> tuple[int, Any]:
    await svc.pipeline.ingest([_his(i) for i in range(3)] + [_his(5, "b")] + [_other(i) for i in range(3)],
                              [_his_refused()])
    now = svc.clock.now()
    async with svc.engine.begin() as conn:
        adm = await accounts.add_user("adm", "admin", [], None, conn=conn, now=now)
        rows = await conn.execute(text("SELECT id FROM mention WHERE external_id = 'm0'"))
        mid = rows.scalar_one()
    await WorkService(svc.engine, svc.settings, svc.clock).add_note(adm, mid, f"called twice, {NOTE_WORD}")
    async with svc.engine.begin() as conn:  # a reply written to him, with his word quoted
        await conn.execute(T_REPLY.insert().values(
            item_id=mid, connector="a", platform="import", parent_external_id="m0", text=f"Dear {WORD}, sorry",
            status="sent", author="adm", idempotency_key="k-m0", attempts=1, in_doubt=False, created_at=now,
            updated_at=now))
        await conn.execute(T_DIGEST_RUN.insert().values(  # a brief that quotes him
            audience="pr", period_start=now, period_end=now, status="sent", deliveries=[], attempts=1,
            created_at=now, brief={"themes": [{"examples": [f"my order 1 is broken, says the {WORD}"]}],
                                   "total": 7}))
        await context_posts.store("a", "reddit", [_his_post(), ContextPost(key="t3_other", text="refund please",
                                                                           author_handle="jane")], [],
                                  conn=conn, now=now)  # a post of his that a mention answers (thread context)
    return mid, adm


def _his_post() -> ContextPost:
    return ContextPost(key="t1_his", text=f"the kettle of the {WORD} leaks", author_handle="Mario.Rossi",
                       author_name="Mario Rossi", url="https://www.reddit.com/r/acme/comments/x/_/his/")


async def test_export_then_erase_leaves_no_trace(services: Any) -> None:
    svc = services
    await _seed(svc)
    before = await _everything(svc)
    assert WORD in before and NOTE_WORD in before
    if svc.engine.dialect.name == "postgresql":
        assert f"'{WORD}':" in before  # the scan reads the search index's lexemes too
    doc = json.loads(json.dumps(await privacy.subject_export(svc.engine, "mario.rossi"), default=str))
    assert sorted(m["external_id"] for m in doc["mentions"]) == ["m0", "m1", "m2", "m5"]
    assert NOTE_WORD in json.dumps(doc) and len(doc["dead_letters"]) == 1
    assert "o0" not in json.dumps(doc)
    assert [c["external_id"] for c in doc["context_posts"]] == ["t1_his"]

    done = await privacy.erase_author(svc.engine, "@MARIO.ROSSI", actor="adm", now=svc.clock.now())
    assert done["mentions"] == 4 and done["dead_letters"] == 1 and done["tombstones"] == 5
    assert done["context_posts"] == 1 and done["rows"]["context_post"] == 1

    blob = await _everything(svc)
    assert WORD not in blob and NOTE_WORD not in blob and "mario" not in blob.lower().replace(
        done["author_sha256"], "")
    assert "brontol" not in blob and "ciclamin" not in blob  # nor their stems (PostgreSQL's search index)
    assert blob.count("refund please") >= 3  # the others are intact
    if svc.engine.dialect.name == "sqlite":  # every live page, search index included, byte for byte
        path = svc.settings.database_url.split("///", 1)[1]
        copy = path + ".scan"
        con = sqlite3.connect(path)
        con.execute("VACUUM INTO ?", (copy,))
        con.close()
        raw = Path(copy).read_bytes()
        assert WORD.encode() not in raw and NOTE_WORD.encode() not in raw
    # the same poll or import again: his mentions and his refused line are not stored again
    res = await svc.pipeline.ingest([_his(i) for i in range(3)] + [_his(5, "b")], [_his_refused()])
    assert res.ingested == 0 and res.duplicates == 4
    async with svc.engine.begin() as conn:  # the thread-context job fetching his post again stores nothing
        assert await context_posts.store("a", "reddit", [_his_post()], [], conn=conn, now=svc.clock.now()) == 0
    assert WORD not in await _everything(svc)
    assert (await privacy.subject_export(svc.engine, "mario.rossi"))["dead_letters"] == []
    async with svc.engine.connect() as conn:
        events = (await conn.execute(text("SELECT kind, data FROM event WHERE kind = :k"),
                                     {"k": privacy.ERASED})).all()
    assert len(events) == 1 and WORD not in str(events[0]) and "mario" not in str(events[0]).lower()


async def test_erase_by_source_keeps_the_other_sources(services: Any) -> None:
    svc = services
    await _seed(svc)
    done = await privacy.erase_author(svc.engine, "mario.rossi", actor="adm", now=svc.clock.now(), source="b")
    assert done["mentions"] == 1
    left = await privacy.subject_export(svc.engine, "mario.rossi")
    assert sorted(m["external_id"] for m in left["mentions"]) == ["m0", "m1", "m2"]


async def test_retention_strips_closed_items_older_than_the_team_setting(services: Any) -> None:
    svc = services
    teams = [t.model_copy(update={"retention": timedelta(days=30)}) if t.name == "customer_care" else t
             for t in svc.settings.teams]
    svc.apply_settings(svc.settings.model_copy(update={"teams": teams}))
    mid, adm = await _seed(svc)
    work = WorkService(svc.engine, svc.settings, svc.clock)
    async with svc.engine.connect() as conn:
        ids = [r[0] for r in await conn.execute(text(
            "SELECT q.id FROM queue_item q JOIN mention m ON m.id = q.id WHERE q.team = 'customer_care' "
            "ORDER BY q.id"))]
    assert mid in ids and len(ids) >= 3
    await work.set_status(adm, mid, "resolved")
    svc.clock.advance(timedelta(days=29))
    assert (await run_retention(svc))["customer_care"] == 0
    svc.clock.advance(timedelta(days=2))
    assert (await run_retention(svc))["customer_care"] == 1
    async with svc.engine.connect() as conn:
        m = (await conn.execute(text("SELECT text, author_handle, raw FROM mention WHERE id = :i"), {"i": mid})).one()
        kept = (await conn.execute(text("SELECT count(*) FROM queue_item WHERE id = :i"), {"i": mid})).scalar_one()
        notes = (await conn.execute(select(text("data")).select_from(text("event")).where(
            text("item_id = :i AND kind = 'note'")), {"i": mid})).all()
        other = (await conn.execute(text("SELECT text FROM mention WHERE id = :i"), {"i": ids[-1]})).scalar_one()
    assert m.text == "" and m.author_handle is None and m.raw is None and kept == 1
    assert len(notes) == 1 and NOTE_WORD not in str(notes[0])
    async with svc.engine.connect() as conn:
        replies = (await conn.execute(text("SELECT text, status FROM reply WHERE item_id = :i"), {"i": mid})).all()
    assert [(r.text, r.status) for r in replies] == [("", "sent")]  # the reply is still counted
    assert WORD in other  # still open, so kept
    assert (await run_retention(svc))["customer_care"] == 0  # nothing left to do
