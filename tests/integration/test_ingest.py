"""The ingest pipeline end to end on SQLite and PostgreSQL: validate, dedupe, classify, route, store
decision + item + event in one transaction; bad input to the dead-letter table."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from connectors.base import Mention, Reject
from inbox.ingest.file_import import read_jsonl
from inbox.storage.repo.export_rows import export_rows
from inbox.storage.tables import DeadLetter, Event, QueueItem, RoutingDecision


def M(ext: str, text: str, **kw: Any) -> Mention:
    return Mention(source=kw.pop("source", "test"), platform="test", external_id=ext, text=text, **kw)


async def _count(svc: Any, model: Any) -> int:
    async with svc.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model.__table__))).scalar_one())


async def test_batch_is_routed_and_stored_once(services: Any) -> None:
    """New mentions get one queue item, one decision and one 'routed' event each; replays add nothing."""
    p = services.pipeline
    batch = [M("1", "My order never arrived, please help"), M("2", "We are hiring, apply for the job"),
             M("3", "I love the new price offer")]
    r = await p.ingest(batch)
    assert (r.ingested, r.duplicates, r.rejected, r.queued) == (3, 0, 0, 3)
    assert r.teams == {"customer_care": 1, "hr": 1, "marketing": 1}
    r2 = await p.ingest(batch + [M("1", "My order never arrived, please help")])
    assert (r2.ingested, r2.duplicates, r2.queued) == (0, 4, 0)
    assert await _count(services, QueueItem) == 3
    assert await _count(services, RoutingDecision) == 3
    assert await _count(services, Event) == 3


async def test_low_confidence_goes_to_triage_with_watchers(services: Any) -> None:
    """A text without cues is below the threshold and lands in triage."""
    r = await services.pipeline.ingest([M("x", "mmm acme today")])
    assert r.teams == {"triage": 1} and r.triaged == 1
    async with services.engine.connect() as conn:
        rows = [row async for row in export_rows(conn=conn)]
    assert rows[0]["team"] == "triage"
    assert "below the confidence threshold" in rows[0]["route_reason"]


async def test_invalid_items_go_to_dead_letters_and_the_rest_is_ingested(services: Any) -> None:
    """Empty text and naive timestamps are rejected with a reason; good rows still arrive."""
    batch = [M("ok", "refund please"), M("empty", "   "),
             M("naive", "help with my order", created_at=datetime(2026, 1, 1))]
    r = await services.pipeline.ingest(batch, [Reject(source="test", reason="invalid JSON", raw="{", position=7)])
    assert (r.ingested, r.rejected) == (1, 3)
    async with services.engine.connect() as conn:
        dl = [
            dict(x._mapping)
            for x in await conn.execute(select(DeadLetter.__table__).order_by(DeadLetter.__table__.c.id))
        ]
    reasons = {d["reason"] for d in dl}
    assert {"invalid JSON", "text is empty", "created_at has no time zone"} <= reasons
    assert any(d["line_no"] == 7 and d["raw"] == "{" for d in dl)


async def test_reposts_are_stored_but_not_queued(services: Any) -> None:
    """A repost is a mention with a decision but no queue item."""
    r = await services.pipeline.ingest([M("rt1", "RT love this coffee", is_repost=True, original_external_id="o1")])
    assert (r.ingested, r.reposts, r.queued) == (1, 1, 0)
    assert await _count(services, QueueItem) == 0


async def test_import_file_with_a_broken_line(services: Any) -> None:
    """The JSON Lines reader keeps line numbers; the broken line is a dead letter with its number."""
    data = "\n".join([json.dumps({"id": "a", "text": "my order is broken", "created_at": "2026-02-01T10:00:00Z"}),
                      json.dumps({"id": "b", "text": "hiring: job in Milan", "lang": "it"}),
                      "not json", json.dumps({"id": "c"})]).encode()
    total = {"ingested": 0, "rejected": 0}
    for good, bad, n in read_jsonl(io.BytesIO(data)):
        r = await services.pipeline.ingest(good, bad, read=n)
        total["ingested"] += r.ingested
        total["rejected"] += r.rejected
        assert r.read == 4
    assert total == {"ingested": 2, "rejected": 2}
    async with services.engine.connect() as conn:
        dl = {x.line_no: x.reason for x in await conn.execute(select(DeadLetter.__table__))}
        rows = {row["external_id"]: row async for row in export_rows(conn=conn)}
    assert dl[3].startswith("invalid JSON") and "text" in dl[4]
    assert rows["a"]["created_at"] == datetime(2026, 2, 1, 10, tzinfo=UTC).isoformat()
    assert rows["b"]["lang"] == "it"
    for key in ("label", "confidence", "team", "status", "route_reason", "routed_at"):
        assert rows["a"][key] is not None


async def test_language_is_detected_when_missing(services: Any) -> None:
    """Mentions without a language tag get one detected offline."""
    await services.pipeline.ingest([M("it1", "Il mio ordine non è mai arrivato e nessuno risponde alle email"),
                                    M("en1", "My order never arrived and nobody answers my emails")])
    async with services.engine.connect() as conn:
        langs = {row["external_id"]: row["lang"] async for row in export_rows(conn=conn)}
    assert langs == {"it1": "it", "en1": "en"}


async def test_stream_of_batches_commits_in_order_and_counts_cross_batch_duplicates(services: Any) -> None:
    """ingest_stream (the importer's path: batch N+1 prepared while batch N is written) stores what
    sequential ingest would: a mention repeated in the next batch, which the pre-check cannot see
    yet, is caught by the insert and counted as a duplicate; rejects and read counts pass through."""
    batches = [
        ([M("1", "My order never arrived, please help"), M("2", "We are hiring, apply for the job")], [], 2),
        ([M("2", "We are hiring, apply for the job"), M("3", "I love the new price offer")],
         [Reject(source="test", position=9, reason="bad json", raw="{")], 3),
        ([M("4", "Refund still missing for my order")], [], 1),
    ]
    results = [r async for r in services.pipeline.ingest_stream(iter(batches))]
    assert [(r.read, r.ingested, r.duplicates, r.rejected) for r in results] == [
        (2, 2, 0, 0),
        (3, 1, 1, 1),
        (1, 1, 0, 0),
    ]
    assert await _count(services, QueueItem) == 4
    assert await _count(services, RoutingDecision) == 4
    assert await _count(services, DeadLetter) == 1
    async with services.engine.connect() as conn:
        ids = sorted([r["external_id"] async for r in export_rows(conn=conn)])
    assert ids == ["1", "2", "3", "4"]


async def test_stream_commits_what_was_read_before_a_read_error(services: Any) -> None:
    """A failing reader stops the stream, but only after the batches it already gave are stored."""
    def batches() -> Any:
        yield [M("1", "My order never arrived, please help")], [], 1
        yield [M("2", "We are hiring, apply for the job")], [], 1
        raise OSError("disk gone")

    seen = []
    try:
        async for r in services.pipeline.ingest_stream(batches()):
            seen.append(r.ingested)
    except OSError as e:
        assert str(e) == "disk gone"
    else:
        raise AssertionError("the read error was swallowed")
    assert seen == [1, 1]
    assert await _count(services, QueueItem) == 2


async def test_stream_stops_cleanly_when_a_batch_fails(services: Any, monkeypatch: Any) -> None:
    """A transaction that fails ends the stream with its error; the batch prepared behind it is
    dropped, not left running, and earlier batches stay stored."""
    from inbox.storage.repo import mentions as mention_repo

    real = mention_repo.insert_mentions_sync
    calls = {"n": 0}

    def flaky(c: Any, rows: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("insert failed")
        return real(c, rows)

    monkeypatch.setattr(mention_repo, "insert_mentions_sync", flaky)
    batches = [([M(str(i), f"My order {i} never arrived, please help")], [], 1) for i in range(4)]
    got = []
    try:
        async for r in services.pipeline.ingest_stream(iter(batches)):
            got.append(r.ingested)
    except RuntimeError as e:
        assert str(e) == "insert failed"
    else:
        raise AssertionError("the failure was swallowed")
    assert got == [1] and calls["n"] == 2
    assert await _count(services, QueueItem) == 1
