"""Hostile input on both entry paths, the import (JSON Lines) and the connectors (a replay server
and a server answering abusive HTTP bodies): oversized texts and lines, invalid UTF-8, NUL and lone
surrogates, absurd nesting, huge pages, a gzip bomb, absurd timestamps. Each item is stored
(truncated or cleaned) or dead-lettered with a clear reason, the rest goes on, nothing crashes, and
memory stays bounded."""
from __future__ import annotations

import io
import json
import re
import tracemalloc
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from connectors.config import ConnectorSettings
from connectors.replay import REPLAY_STORE, SAMPLES_DIR, create_replay_app
from connectors.testing import fresh_items, serve_app
from inbox.ingest.file_import import MAX_LINE, read_jsonl
from inbox.ingest.pipeline import MAX_TEXT
from inbox.ingest.poll import Poller
from inbox.storage.repo._common import T_DEAD, T_ITEM, T_MENTION

DEEP = 100_000


def _line(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


# (line, expected outcome): "stored", or a regular expression the dead letter's reason must match
IMPORT_CASES: list[tuple[bytes, str]] = [
    (_line({"id": "ok1", "text": "a normal mention about an order"}), "stored"),
    (_line({"id": "big", "text": "lungo " * 20_000}), "stored"),                      # 120k chars: truncated
    (b'{"id": "utf", "text": "caf\xe9 \xff\xfe"}\n', r"invalid UTF-8"),
    (_line({"id": "nul", "text": "hello\u0000world", "author": "a\u0000b"}), "stored"),
    (_line({"id": "sur", "text": "lone \ud800 surrogate"}), "stored"),
    (_line({"id": "nest", "text": "x", "extra": json.loads("[" * 40 + "]" * 40)}), r"nested deeper"),
    (b'{"id": "deep", "text": "x", "a": ' + b"[" * DEEP + b"]" * DEEP + b"}\n", r"nested too deeply|nested deeper"),
    (b"x" * (MAX_LINE + 10) + b"\n", r"longer than"),
    (_line({"id": "t1", "text": "epoch", "created_at": 1e300}), r"created_at.*(range|finite)"),
    (b'{"id": "t2", "text": "nan", "created_at": NaN}\n', r"created_at.*finite"),
    (b'{"id": "t3", "text": "inf", "created_at": -Infinity}\n', r"created_at.*finite"),
    (_line({"id": "t4", "text": "far", "created_at": "9999-12-31T23:59:59+00:00"}), r"created_at.*out of range"),
    (_line({"id": "t5", "text": "west", "created_at": "0001-01-01T00:00:00+14:00"}), r"created_at.*out of range"),
    (_line({"id": "t6", "text": "junk", "created_at": "yesterday-ish"}), r"Invalid isoformat|created_at"),
    (_line({"id": "t7", "text": "int", "created_at": 10 ** 400}), r"created_at.*range"),
    (_line({"id": "x" * 600, "text": "long id"}), r"external_id longer"),
    (_line(["not", "an", "object"]), r"not a JSON object"),
    (_line({"id": "ok2", "text": "another normal one: love the price"}), "stored"),
]


async def test_import_path_rejects_or_truncates_each_abuse_and_keeps_the_rest(services: Any) -> None:
    """Every abusive import line is stored cleaned/truncated or dead-lettered with its reason and line number."""
    data = b"".join(line for line, _ in IMPORT_CASES)
    pipeline = await services.ready_pipeline()
    totals = {"read": 0, "ingested": 0, "duplicates": 0, "rejected": 0}
    for good, bad, n in read_jsonl(io.BytesIO(data), batch_size=5):
        res = await pipeline.ingest(good, bad, read=n)
        for k in totals:
            totals[k] += getattr(res, k)
    stored_cases = [i for i, (_, want) in enumerate(IMPORT_CASES) if want == "stored"]
    assert totals == {"read": len(IMPORT_CASES), "ingested": len(stored_cases), "duplicates": 0,
                      "rejected": len(IMPORT_CASES) - len(stored_cases)}
    async with services.engine.connect() as conn:
        dead = {r.line_no: r.reason for r in await conn.execute(select(T_DEAD.c.line_no, T_DEAD.c.reason))}
        rows = {r.external_id: r for r in await conn.execute(select(T_MENTION))}
        n_items = len((await conn.execute(select(T_ITEM.c.id))).all())
    assert n_items == len(rows) == len(stored_cases)
    for i, (_, want) in enumerate(IMPORT_CASES):
        if want != "stored":
            assert i + 1 in dead, f"line {i + 1}: no dead letter with that line number ({sorted(dead)})"
            assert re.search(want, dead[i + 1]), f"line {i + 1}: {dead[i + 1]!r} does not say {want!r}"
    assert len(rows["big"].text) == MAX_TEXT
    assert "\x00" not in rows["nul"].text and rows["nul"].text.startswith("hello")
    assert "\x00" not in (rows["nul"].author_handle or "")
    rows["sur"].text.encode("utf-8")  # storable, readable text: no lone surrogate left


async def test_import_of_a_giant_line_uses_bounded_memory(services: Any, tmp_path: Path) -> None:
    """A 64 MB line among normal ones is rejected without ever being held in memory whole."""
    path = tmp_path / "giant.jsonl"
    with open(path, "wb") as f:
        f.write(_line({"id": "a", "text": "before the giant"}))
        f.write(b'{"id": "g", "text": "' + b"g" * (64 * 1024 * 1024) + b'"}\n')
        f.write(_line({"id": "b", "text": "after the giant"}))
    pipeline = await services.ready_pipeline()
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            for good, bad, n in read_jsonl(stream):
                await pipeline.ingest(good, bad, read=n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while reading a 64 MB line"
    async with services.engine.connect() as conn:
        ids = {r[0] for r in await conn.execute(select(T_MENTION.c.external_id))}
        reasons = [r[0] for r in await conn.execute(select(T_DEAD.c.reason))]
    assert ids == {"a", "b"}
    assert reasons == [f"line longer than {MAX_LINE} bytes"]


def _status(i: int, **over: Any) -> dict[str, Any]:
    s = fresh_items("mastodon", 1, datetime.now(UTC), tag=f"abuse{i}")[0]
    s["id"] = str(int(s["id"]) + i)
    s["uri"] = f"https://abuse.example/statuses/{i}"
    s.update(over)
    return s


CONNECTOR_CASES: list[tuple[dict[str, Any], str]] = [
    (_status(1, content="<p>Lumetta " + "enorme " * 30_000 + "</p>"), "stored"),
    (_status(2, content="<p>Lumetta nul\u0000byte</p>"), "stored"),
    (_status(3, content="<p>Lumetta lone \udc80 surrogate</p>"), "stored"),
    # an unreadable date falls back to the fetch time, said in the mention's provenance (issue 22)
    (_status(4, created_at="1e300"), "stored at fetch time"),
    (_status(5, created_at="9999-12-31T23:59:59-14:00"), "stored at fetch time"),
    (_status(6, created_at="2999-01-01T00:00:00Z"), "stored at fetch time"),
    (_status(7, uri="https://abuse.example/" + "u" * 1000), r"external_id longer"),
    (_status(8, content="<p>Lumetta deep</p>", extra=json.loads("[" * 300 + "]" * 300)), "stored"),
    (_status(9, content="<p>Lumetta fine</p>"), "stored"),
]


async def test_connector_path_rejects_or_truncates_each_abusive_item_and_keeps_the_rest(services: Any) -> None:
    """Abusive items in a platform page: stored cleaned/truncated or dead-lettered with a reason; the poll succeeds."""
    app = create_replay_app(SAMPLES_DIR)
    app[REPLAY_STORE].add("mastodon", [item for item, _ in CONNECTOR_CASES])
    async with serve_app(app) as base:
        cfg = ConnectorSettings.model_validate({"name": "masto", "type": "mastodon", "base_url": f"{base}/mastodon",
                                                "query": ["lumetta"], "allow_private_hosts": True})
        async with Poller(services) as poller:
            out = await poller.poll(cfg)
    assert out["ok"], out
    async with services.engine.connect() as conn:
        rows = {r.external_id: r for r in await conn.execute(select(T_MENTION).where(T_MENTION.c.source == "masto"))}
        dead = [r.reason + " " + r.raw for r in await conn.execute(select(T_DEAD))]
    for item, want in CONNECTOR_CASES:
        if want.startswith("stored"):
            assert item["uri"] in rows, f"{item['uri']} was not stored"
            text = rows[item["uri"]].text
            assert len(text) <= MAX_TEXT and "\x00" not in text
            text.encode("utf-8")
            if want == "stored at fetch time":
                row = rows[item["uri"]]
                assert (row.provenance or {}).get("created_at", "").startswith("fetch time"), row.provenance
                assert row.created_at == row.fetched_at
        else:
            assert item["uri"] not in rows
            mine = [d for d in dead if item["uri"][:60] in d or item["id"] in d]
            assert mine and re.search(want, mine[0]), f"{item['uri'][:60]}: {mine[:1]} does not say {want!r}"


def _gzip_bomb(mebibytes: int) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    parts = [co.compress(b'{"statuses": ["')] + [co.compress(zeros) for _ in range(mebibytes)]
    return b"".join(parts + [co.compress(b'"]}'), co.flush()])


def _abusive_app() -> web.Application:
    """A Mastodon look-alike whose search answers differ by instance path: a gzip bomb, a huge
    chunked page, absurd nesting, invalid UTF-8."""
    bomb = _gzip_bomb(1024)
    deep = b'{"statuses": ' + b"[" * DEEP + b"]" * DEEP + b"}"

    async def search(request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind == "bomb":
            return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        if kind == "huge":
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            await resp.write(b'{"statuses": ["')
            chunk = b"h" * (1 << 20)
            try:
                for _ in range(64):
                    await resp.write(chunk)
                await resp.write(b'"]}')
            except (ConnectionResetError, RuntimeError):
                pass
            return resp
        if kind == "deep":
            return web.Response(body=deep, content_type="application/json")
        return web.Response(body=b'{"statuses": [{"content": "caf\xe9 \xff"}]}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/mastodon/{kind}/api/v2/search", search)
    return app


@pytest.mark.parametrize("kind,reason", [("bomb", r"exceeds"), ("huge", r"exceeds"),
                                         ("deep", r"undecodable|recursion"), ("utf8", r"undecodable|utf-8")])
async def test_connector_path_refuses_abusive_bodies_with_bounded_memory(services: Any, kind: str,
                                                                        reason: str) -> None:
    """A gzip bomb, a huge page, absurd nesting, invalid UTF-8: the poll fails with a clear error, memory stays
    bounded."""
    async with serve_app(_abusive_app()) as base:
        cfg = ConnectorSettings.model_validate({"name": f"bad-{kind}", "type": "mastodon",
                                                "base_url": f"{base}/mastodon/{kind}", "query": ["lumetta"],
                                                "allow_private_hosts": True})
        async def sleep(seconds: float) -> None:  # back-off on the fake clock, no real waiting
            services.clock.advance(seconds)

        async with Poller(services, sleep=sleep) as poller:
            tracemalloc.start()
            try:
                out = await poller.poll(cfg)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert out["ok"] is False and re.search(reason, out["error"], re.IGNORECASE), out
    assert out["health"]["consecutive_failures"] == 1 and out["health"]["last_error"]
    assert peak < 64 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
