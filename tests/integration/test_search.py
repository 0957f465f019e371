"""Search on SQLite (FTS5) and PostgreSQL (tsvector): accents and case folded, phrases and prefixes,
filters, only what the caller may see, ranked, keyset pages, escaped snippets; the index is written
with the mention on both ingest paths and by the migration for rows stored before it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text

from connectors.base import Mention
from inbox.domain import search_query
from inbox.storage import migrate
from inbox.storage.repo import accounts
from inbox.storage.repo import search as search_repo
from inbox.storage.repo.search import SearchFilters
from inbox.work.item_actions import WorkService, visible_teams
from tests.conftest import open_services, sent_statements

TEXTS = {
    "it": "Il mio ordine non è arrivato, perché? Rimborso per favore",
    "en": "Where is my refund for order 5531? The app is broken",
    "en2": "refund refund refund: still no refund for my order",
    "hr": "cerco lavoro come magazziniere, colloquio di lavoro?",
    "xss": "order <script>alert(1)</script> & refund",
    "phrase": "the order was not what I ordered",
}


async def _seed(svc: Any) -> dict[str, int]:
    batch = [Mention(source="t", platform="t", external_id=k, text=v, language="it" if k in ("it", "hr") else "en")
             for k, v in TEXTS.items()]
    res = await svc.pipeline.ingest(batch)
    assert res.ingested == len(TEXTS)
    async with svc.engine.connect() as conn:
        rows = await conn.execute(text("SELECT external_id, id FROM mention WHERE source = 't'"))
        return {e: int(i) for e, i in rows}


async def _find(svc: Any, q: str, teams: list[str] | None = None, **kw: Any) -> list[int]:
    async with svc.engine.connect() as conn:
        hits = await search_repo.search(search_query.parse(q), SearchFilters(teams=teams, **kw), conn=conn, limit=50)
    return [h.item.id for h in hits]


async def test_words_fold_accents_and_case_and_rank(services: Any) -> None:
    ids = await _seed(services)
    assert await _find(services, "perche") == [ids["it"]]
    assert await _find(services, "PERCHÉ") == [ids["it"]]
    assert await _find(services, "Arrivato rimborso") == [ids["it"]]
    got = await _find(services, "refund")
    assert set(got) == {ids["en"], ids["en2"], ids["xss"]}
    assert got[0] == ids["en2"]  # four times the word ranks first
    assert await _find(services, "nothing-like-this") == []


async def test_phrase_and_prefix(services: Any) -> None:
    ids = await _seed(services)
    assert await _find(services, '"order was not"') == [ids["phrase"]]
    assert await _find(services, '"not order"') == []
    assert set(await _find(services, "magazz*")) == {ids["hr"]}
    assert await _find(services, "magazz") == []
    assert set(await _find(services, "ord*")) == {ids["it"], ids["en"], ids["en2"], ids["xss"], ids["phrase"]}


async def test_filters_and_visibility(services: Any) -> None:
    ids = await _seed(services)
    assert await _find(services, "lavoro", teams=["customer_care"]) == []
    assert await _find(services, "lavoro", teams=["hr"]) == [ids["hr"]]
    assert await _find(services, "lavoro") == [ids["hr"]]  # admin
    assert set(await _find(services, "order", lang="it")) == set()
    assert await _find(services, "ordine", lang="it") == [ids["it"]]
    assert await _find(services, "refund", statuses=["resolved"]) == []
    assert await _find(services, "refund", source="elsewhere") == []
    assert set(await _find(services, "", team="hr")) == {ids["hr"]}  # filters only


async def test_closed_items_and_assignee_filter(services: Any) -> None:
    ids = await _seed(services)
    now = services.clock.now()
    async with services.engine.begin() as conn:
        ann = await accounts.add_user("ann", "agent", ["customer_care"], None, conn=conn, now=now)
    w = WorkService(services.engine, services.settings, services.clock)
    await w.set_status(ann, ids["en"], "resolved")
    assert ids["en"] in await _find(services, "refund", teams=visible_teams(ann), statuses=["resolved", "spam"])
    assert await _find(services, "refund", assignee="ann") == [ids["en"]]
    assert ids["en"] not in await _find(services, "refund", assignee="none")


async def test_keyset_pages_cover_every_hit_once(services: Any) -> None:
    batch = [Mention(source="p", platform="t", external_id=f"p{i}", text="refund " * (1 + i % 3) + f"case {i}")
             for i in range(23)]
    await services.pipeline.ingest(batch)
    terms = search_query.parse("refund")
    seen: list[int] = []
    after = None
    async with services.engine.connect() as conn:
        while True:
            page = await search_repo.search(terms, SearchFilters(source="p"), conn=conn, limit=5, after=after)
            if not page:
                break
            seen += [h.item.id for h in page]
            cur = search_query.encode_cursor(page[-1].score, page[-1].item.id, page[-1].newest)
            after = search_query.decode_cursor(cur)
    assert len(seen) == 23 and len(set(seen)) == 23


async def _pages(svc: Any, q: str, rank_at_most: int, **kw: Any) -> list[search_repo.Hit]:
    terms, out, after = search_query.parse(q), [], None
    async with svc.engine.connect() as conn:
        while page := await search_repo.search(terms, SearchFilters(**kw), conn=conn, limit=4, after=after,
                                               rank_at_most=rank_at_most):
            out += page
            after = search_query.decode_cursor(
                search_query.encode_cursor(page[-1].score, page[-1].item.id, page[-1].newest))
    return out


async def test_too_many_matches_to_rank_run_newest_first_in_keyset_pages(services: Any) -> None:
    """Past ``rank_at_most`` matching mentions nothing is scored: the pages run newest first (what
    keeps a common word's query bounded), every filtered hit exactly once; under the bound the
    same query is ranked."""
    batch = [Mention(source="p", platform="t", external_id=f"p{i}", text="refund " * (1 + (i * 7) % 5) + f"case {i}",
                     language="en") for i in range(15)]
    batch.append(Mention(source="elsewhere", platform="t", external_id="x", text="refund case x", language="en"))
    await services.pipeline.ingest(batch)
    newest = await _pages(services, "refund", rank_at_most=10, source="p")
    ids = [h.item.id for h in newest]
    assert len(ids) == 15 and ids == sorted(ids, reverse=True)
    assert all(h.newest and h.score == 0.0 for h in newest)
    assert all(h.snippet and "\ue000refund\ue001" in h.snippet for h in newest)
    ranked = await _pages(services, "refund", rank_at_most=16, source="p")
    assert sorted(h.item.id for h in ranked) == sorted(ids) and not any(h.newest for h in ranked)
    assert [h.score for h in ranked] == sorted(h.score for h in ranked)
    assert ranked[0].item.text.count("refund") == 5 and [h.item.id for h in ranked] != ids
    async with services.engine.connect() as conn:
        assert not await search_repo.ranks(search_query.parse("refund"), conn=conn, at_most=15)
        assert await search_repo.ranks(search_query.parse("refund"), conn=conn, at_most=16)
        assert await search_repo.ranks(search_query.parse("refund case 3"), conn=conn, at_most=1)
    filters_only = await _pages(services, "", rank_at_most=16, source="p")  # no words: newest first too
    assert [h.item.id for h in filters_only] == ids


async def test_snippets_mark_the_words_and_escape_the_text(services: Any) -> None:
    ids = await _seed(services)
    async with services.engine.connect() as conn:
        snip = await search_repo.snippets(search_query.parse("refund"), [ids["xss"]], conn=conn)
    html = search_query.snippet_html(snip[ids["xss"]], search_repo.HL_START, search_repo.HL_END)
    assert "<mark>refund</mark>" in html
    assert "<script" not in html and "alert(1)" in html  # escaped (SQLite) or dropped as a tag (PostgreSQL)
    assert search_query.snippet_html("a <b>\ue000x\ue001 \ue001", "\ue000", "\ue001") == "a &lt;b&gt;<mark>x</mark> "


async def test_bulk_import_path_and_erase_keep_the_index(services: Any) -> None:
    """A file import (the bulk path) is searchable at once; a deleted mention leaves the index."""
    import io

    from inbox.ingest.file_import import read_jsonl
    line = '{"id": "f1", "text": "Qualità pessima, vorrei un rimborso", "source": "import"}\n'
    async for _ in services.pipeline.ingest_stream(read_jsonl(io.BytesIO(line.encode()), source="import")):
        pass
    got = await _find(services, "qualita")
    assert len(got) == 1
    async with services.engine.begin() as conn:
        await conn.execute(text("DELETE FROM queue_item WHERE id = :i"), {"i": got[0]})
        await conn.execute(text("DELETE FROM routing_decision WHERE mention_id = :i"), {"i": got[0]})
        await conn.execute(text("DELETE FROM event WHERE item_id = :i"), {"i": got[0]})
        await conn.execute(text("DELETE FROM mention WHERE id = :i"), {"i": got[0]})
    assert await _find(services, "qualita") == []


async def test_migration_indexes_rows_stored_before_it(services: Any) -> None:
    ids = await _seed(services)
    await migrate.downgrade(services.engine, "0014")
    await migrate.upgrade(services.engine)
    assert await _find(services, "perche") == [ids["it"]]


def test_query_syntax_cannot_inject_operators() -> None:
    terms = search_query.parse('a" OR b NEAR(c) -x ) * "l\'ordine è" pre*')
    assert search_query.fts5_match(terms) == '"a" AND "or" AND "b" AND "near c" AND "x" AND "l ordine è" AND "pre"*'
    assert "'pre':*" in search_query.tsquery(terms)
    assert search_query.parse("  *** ") == []
    assert search_query.decode_cursor(search_query.encode_cursor(-1.25, 7)) == (-1.25, 7, False)
    assert search_query.decode_cursor(search_query.encode_cursor(0, 7, newest=True)) == (0.0, 7, True)


async def test_a_full_newest_first_page_on_postgresql_reads_no_further_than_its_hits(
        pg_db_url: str, settings_factory: Any, fake_classifier: Any) -> None:
    """PostgreSQL reads a common word's matches newest first off the primary key and stops at the
    page's last hit: no statement seeks the walk's end (an OFFSET of ``walk_at_most`` matches, 50,000
    rows read for a word in a fifth of a million mentions) unless the page comes back short."""
    svc = await open_services(settings_factory(pg_db_url), classifier=fake_classifier)
    try:
        await svc.pipeline.ingest([Mention(source="a", platform="t", external_id=f"a{i}", text=f"refund case {i}",
                                           language="en") for i in range(30)])
        terms = search_query.parse("refund")
        async with svc.engine.connect() as conn:
            with sent_statements(svc.engine, "SELECT") as sent:
                full = await search_repo.find_page(terms, SearchFilters(), conn=conn, limit=5, rank_at_most=3,
                                                   walk_at_most=20)
            seeks = [st for st, _ in sent if "OFFSET" in st.upper()]
            with sent_statements(svc.engine, "SELECT") as sent:
                short = await search_repo.find_page(terms, SearchFilters(source="b"), conn=conn, limit=5,
                                                    rank_at_most=3, walk_at_most=20)
            short_seeks = [st for st, _ in sent if "OFFSET" in st.upper()]
    finally:
        await svc.close()
    assert len(full.hits) == 5 and full.resume is None
    assert [h.item.id for h in full.hits] == sorted((h.item.id for h in full.hits), reverse=True)
    assert seeks == []
    assert short.hits == [] and short.resume is not None  # the walk's 20 matches are all source a
    assert len(short_seeks) == 1


async def test_a_newest_first_page_walks_a_bounded_number_of_matches(services: Any) -> None:
    """A common word whose newest matches the filters drop (another team's, another source's) does
    not walk every match for one page: a page looks at ``walk_at_most`` matches and, short of hits,
    says where the next one starts; following those cursors finds every hit exactly once."""
    old = [Mention(source="a", platform="t", external_id=f"a{i}", text=f"refund case {i}", language="en")
           for i in range(5)]
    new = [Mention(source="b", platform="t", external_id=f"b{i}", text=f"refund other {i}", language="en")
           for i in range(7)]
    await services.pipeline.ingest(old)
    await services.pipeline.ingest(new)
    terms, seen, pages, after = search_query.parse("refund"), [], 0, None
    async with services.engine.connect() as conn:
        while True:
            page = await search_repo.find_page(terms, SearchFilters(source="a"), conn=conn, limit=2, after=after,
                                               rank_at_most=3, walk_at_most=3)
            pages += 1
            seen += [h.item.id for h in page.hits]
            if page.hits and len(page.hits) == 2:
                after = (page.hits[-1].score, page.hits[-1].item.id, True)
            elif page.resume is not None:
                after = page.resume
            else:
                break
        first = await search_repo.find_page(terms, SearchFilters(source="a"), conn=conn, limit=2,
                                            rank_at_most=3, walk_at_most=3)
    assert first.hits == [] and first.resume is not None  # the three newest matches are all source b
    assert len(seen) == 5 and len(set(seen)) == 5 and seen == sorted(seen, reverse=True)
    assert pages <= 6
