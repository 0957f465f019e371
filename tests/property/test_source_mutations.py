"""Properties of real-format sources under the damage real ones show: a feed (RSS 2.0 or Atom), a
Bluesky search page, a Mastodon search result or a Reddit listing is generated, then mutated (junk
before the XML declaration, broken entities, truncation, missing fields, odd encodings, bad
dates), served over HTTP from a local server and polled into a real database. Every item that
still has its text in the payload is stored or dead-lettered with a reason (a feed item left
whole is stored, however broken the rest of the feed, and so is an API item that kept its
identity, whatever else it lost); nothing that was damaged goes without a trace (a dead letter, a
warning or a poll error); and the source's health says so: unhealthy with a reason when nothing
was stored but something was dead-lettered, healthy when items were stored."""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connectors.config import ConnectorSettings
from connectors.testing import serve_app
from inbox.domain.clock import FakeClock
from inbox.ingest.classifier import ClassifierHolder
from inbox.ingest.poll import Poller
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts, connector_state
from inbox.storage.repo._common import T_DEAD, T_MENTION
from tests.conftest import KeywordClassifier, make_settings

T = TypeVar("T")
MARK = "zqmark"
_ITEM_TEXTS = ("Lumetta caffè perfetto, grazie", "My Lumetta order is broken & late", "Lumetta: €129, très bien",
               "Assistenza Lumetta lenta", "Lumetta grinder review")


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    services: Services
    routes: dict[str, tuple[bytes, str]]
    base: str
    counter: int = 0

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    async def sleep(self, seconds: float) -> None:
        """Waits (retries, request spacing) pass on the services' fake clock, not the wall's."""
        self.services.clock.advance(seconds)

    def name(self) -> str:
        self.counter += 1
        self.services.clock.advance(60)
        return f"p{self.counter}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    loop = asyncio.new_event_loop()
    tmp = tmp_path_factory.mktemp("mutations")
    routes: dict[str, tuple[bytes, str]] = {}

    async def handle(request: web.Request) -> web.Response:
        body, content_type = routes.get(request.path, (b"", "text/plain"))
        return web.Response(body=body, headers={"Content-Type": content_type}, status=200 if body else 404)

    async def start() -> tuple[Services, Any, str]:
        settings = make_settings(f"sqlite+aiosqlite:///{tmp}/m.db", tmp)
        svc = await Services.open(settings, clock=FakeClock())
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
        svc.classifier = ClassifierHolder(KeywordClassifier())
        await svc.ready_pipeline()
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        server = serve_app(app)
        base = await server.__aenter__()
        return svc, server, base

    svc, server, base = loop.run_until_complete(start())
    yield World(loop, svc, routes, base)
    loop.run_until_complete(server.__aexit__(None, None, None))
    loop.run_until_complete(svc.close())
    loop.close()


# -- RSS ---------------------------------------------------------------------------------------
@dataclass
class FeedCase:
    items: list[dict[str, str]]
    atom: bool
    leading: str
    entity: bool
    drop: list[str]
    bad_dates: dict[int, str]
    encoding: str
    declared: bool
    cut: float | None


# RSS 2.0 element, Atom element (a format string for the value)
_ELEMENTS = {"title": ("<title>{}</title>", "<title>{}</title>"),
             "link": ("<link>{}</link>", '<link rel="alternate" href="{}"/>'),
             "guid": ('<guid isPermaLink="false">{}</guid>', "<id>urn:uuid:{}</id>"),
             "pubDate": ("<pubDate>{}</pubDate>", "<published>{}</published>"),
             "description": ("<description>{}</description>", '<summary type="html">{}</summary>')}


def _item_xml(i: int, item: dict[str, str], case: FeedCase) -> str:
    tag = "entry" if case.atom else "item"
    parts = [f"<{tag}>"]
    for key in ("title", "link", "guid"):
        if key in item and key not in case.drop:
            parts.append(_ELEMENTS[key][case.atom].format(escape(item[key], {'"': "&quot;"})))
    date = case.bad_dates.get(i, item["date"])
    if "pubDate" not in case.drop:
        parts.append(_ELEMENTS["pubDate"][case.atom].format(escape(date)))
    description = escape(item["description"])
    if case.entity and i % 2 == 0:
        description = description.replace("&amp;", "&nbsp;&bogus;", 1) + " &eacute;"
    parts.append(_ELEMENTS["description"][case.atom].format(description) + f"</{tag}>")
    return "".join(parts)


def feed_text(case: FeedCase) -> tuple[str, list[str]]:
    items = [_item_xml(i, item, case) for i, item in enumerate(case.items)]
    declaration = f'<?xml version="1.0" encoding="{case.encoding}"?>' if case.declared else '<?xml version="1.0"?>'
    if case.atom:
        doc = (f'{case.leading}{declaration}\n<feed xmlns="http://www.w3.org/2005/Atom"><title>Feed</title>'
               f'<id>urn:feed</id><link href="https://feed.example/"/>{"".join(items)}</feed>\n')
    else:
        doc = (f"{case.leading}{declaration}\n<rss version=\"2.0\"><channel><title>Feed</title>"
               f"<link>https://feed.example/</link><description>d</description>{''.join(items)}</channel></rss>\n")
    return doc, items


feed_cases = st.builds(
    FeedCase,
    items=st.lists(st.fixed_dictionaries({
        "title": st.sampled_from(_ITEM_TEXTS), "link": st.integers(0, 3).map(lambda n: f"https://feed.example/{n}"),
        "guid": st.uuids().map(str), "date": st.sampled_from(["Mon, 02 Mar 2026 10:00:00 GMT", "2026-03-02T10:00:00Z",
                                                               "lun, 02 mar 2026 10:00:00 +0100"]),
        # links and titles repeat: a feed that gives several items one link or one title still has them all
        "description": st.sampled_from(_ITEM_TEXTS)}), min_size=1, max_size=6),
    atom=st.booleans(),
    leading=st.sampled_from(["", "", "\n", "  \r\n", "<!-- cms -->", "\ufeff\n"]),
    entity=st.booleans(),
    drop=st.lists(st.sampled_from(["title", "link", "guid", "pubDate"]), max_size=4, unique=True),
    bad_dates=st.dictionaries(st.integers(0, 5), st.one_of(st.text(max_size=20), st.sampled_from(
        ["0000-00-00", "32/13/2026", "mar., 03 mars 2026 10:00:00 +0100", "9999-12-31T23:59:59Z"])), max_size=3),
    encoding=st.sampled_from(["utf-8", "utf-8", "windows-1252", "iso-8859-15", "utf-16"]),
    declared=st.booleans(),
    cut=st.one_of(st.none(), st.none(), st.floats(0.2, 0.98)),
)


async def _outcome(world: World, name: str) -> tuple[list[str], list[tuple[str, str]], dict[str, Any]]:
    async with world.services.engine.connect() as conn:
        texts = list((await conn.execute(select(T_MENTION.c.text).where(T_MENTION.c.source == name))).scalars())
        dead = [(r.reason, r.raw) for r in await conn.execute(select(T_DEAD).where(T_DEAD.c.source == name))]
        state = await connector_state.get_state(name, conn=conn) or {}
    return texts, dead, state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(case=feed_cases)
def test_mutated_feeds_lose_nothing_in_silence(world: World, case: FeedCase) -> None:
    for i, item in enumerate(case.items):
        item["description"] = f"{item['description']} {MARK}{i}x"
    doc, items = feed_text(case)
    body = doc.encode(case.encoding, errors="xmlcharrefreplace")
    if case.cut is not None:
        body = body[: max(1, int(len(body) * case.cut))]
    kept = body.decode(case.encoding, errors="ignore")
    name = world.name()
    world.routes[f"/{name}.xml"] = (body, "application/rss+xml")
    cfg = ConnectorSettings.model_validate({"name": name, "type": "rss", "feeds": [f"{world.base}/{name}.xml"],
                                            "allow_private_hosts": True})

    async def poll() -> dict[str, Any]:
        async with Poller(world.services, sleep=world.sleep) as poller:
            return await poller.poll(cfg)

    out = world.run(poll())
    texts, dead, state = world.run(_outcome(world, name))
    traces = bool(dead) or bool(state.get("warnings")) or bool(state.get("last_error"))
    for i, xml_item in enumerate(items):
        marker = f"{MARK}{i}x"
        stored = any(marker in t for t in texts)
        dead_lettered = any(marker in raw and reason for reason, raw in dead)
        if _intact(xml_item, kept, case):  # whole and readable: kept, not merely dead-lettered
            assert stored, (marker, out, dead, doc)
        elif marker in kept and not (stored or dead_lettered):
            assert traces, (marker, out)  # damaged, not kept: the source says something happened
    _health_reflects(texts, dead, state)


def _intact(xml_item: str, kept: str, case: FeedCase) -> bool:
    """The item is in the body as generated, and the body's end is not cut inside the channel
    (a truncated document may lose its last items to the parser's recovery: then a trace is enough)."""
    return xml_item in kept and case.cut is None


def _health_reflects(texts: list[str], dead: list[tuple[str, str]], state: dict[str, Any]) -> None:
    if texts:
        assert state["healthy"] is True and state["health_reason"] is None, state
    elif dead:
        assert state["healthy"] is False and state["health_reason"], state
    if dead and texts:
        assert state["last_poll"]["rejected"] >= 1, state


# -- Bluesky -----------------------------------------------------------------------------------
API = Path(__file__).resolve().parents[1] / "fixtures" / "connectors" / "api"
_POST_FIELDS = ("uri", "author", "record", "indexedAt", "record.text", "record.createdAt", "author.handle")


@st.composite
def bluesky_pages(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]]]:
    base = json.loads((API / "bluesky_bad_created_at.json").read_text())["posts"][0]
    posts = []
    for i in range(draw(st.integers(1, 6))):
        post = json.loads(json.dumps(base))
        post["uri"] = f"at://did:plc:gen{i}/app.bsky.feed.post/3lgen{i}"
        post["record"]["text"] = f"{draw(st.sampled_from(_ITEM_TEXTS))} {MARK}{i}x"
        post["record"]["createdAt"] = draw(st.one_of(
            st.just("2026-03-09T08:15:00Z"), st.text(max_size=12), st.sampled_from(["0000-00-00T00:00:00Z", "", None])))
        for field in draw(st.lists(st.sampled_from(_POST_FIELDS), max_size=2, unique=True)):
            head, _, tail = field.partition(".")
            (post[head] if tail and isinstance(post.get(head), dict) else post).pop(tail or head, None)
        posts.append(post)
    body = json.dumps({"posts": posts}, ensure_ascii=draw(st.booleans())).encode()
    cut = draw(st.one_of(st.none(), st.none(), st.none(), st.floats(0.1, 0.99)))
    return (body[: int(len(body) * cut)] if cut else body), posts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(page=bluesky_pages())
def test_mutated_bluesky_pages_lose_nothing_in_silence(world: World, page: tuple[bytes, list[dict[str, Any]]]) -> None:
    body, posts = page
    name = world.name()
    world.routes[f"/{name}/xrpc/app.bsky.feed.searchPosts"] = (body, "application/json; charset=utf-8")
    cfg = ConnectorSettings.model_validate({"name": name, "type": "bluesky", "base_url": f"{world.base}/{name}",
                                            "query": ["lumetta"], "allow_private_hosts": True})

    async def poll() -> dict[str, Any]:
        async with Poller(world.services, sleep=world.sleep) as poller:
            return await poller.poll(cfg)

    out = world.run(poll())
    texts, dead, state = world.run(_outcome(world, name))
    readable = _json_ok(body)
    if not readable:  # the page cannot be read: the poll failed, said so, and will read it again
        assert not out["ok"] and state["last_error"] and state["consecutive_failures"] == 1, out
        return
    for i, post in enumerate(posts):
        record = post.get("record")
        if isinstance(record, dict) and re.search(MARK, str(record.get("text") or "")):
            marker = f"{MARK}{i}x"
            assert any(marker in t for t in texts) or any(marker in raw and reason for reason, raw in dead), \
                (marker, out, dead)
    _health_reflects(texts, dead, state)


def _json_ok(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


# -- Mastodon and Reddit -----------------------------------------------------------------------
def _mutate(draw: st.DrawFn, item: dict[str, Any], fields: tuple[str, ...], dates: tuple[str, ...]) -> None:
    """Drop or null some fields (``a.b`` reaches into a nested object), break some dates."""
    for field in draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        head, _, tail = field.partition(".")
        holder = item.get(head) if tail else item
        if isinstance(holder, dict):
            if draw(st.booleans()):
                holder.pop(tail or head, None)
            else:
                holder[tail or head] = None
    for field in draw(st.lists(st.sampled_from(dates), max_size=2, unique=True)):
        item[field] = draw(st.one_of(st.text(max_size=12), st.sampled_from(
            ["0000-00-00T00:00:00Z", "", "2026-02-30T10:00:00Z", "lun, 3 nov 2025", "1e30", "-1"]), st.just(None)))


def _text_html(draw: st.DrawFn, i: int) -> str:
    text = f"{draw(st.sampled_from(_ITEM_TEXTS))} {MARK}{i}x"
    broken = draw(st.sampled_from(["", "&nbsp;", "&bogus;", "&eacute", "&#x27;", "<b>", "</p>"]))
    return f"<p>{escape(text)} {broken}</p>"


@st.composite
def mastodon_pages(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]]]:
    statuses = []
    for i in range(draw(st.integers(1, 6))):
        status: dict[str, Any] = {
            "id": str(113000000000000000 + i), "uri": f"https://m.example/users/u/statuses/{i}",
            "url": f"https://m.example/@u/{i}", "created_at": "2026-03-09T10:00:00.000Z", "edited_at": None,
            "language": "it", "spoiler_text": "", "content": _text_html(draw, i), "reblog": None,
            "in_reply_to_id": None, "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
            "account": {"id": "1", "acct": "u", "url": "https://m.example/@u", "display_name": "U",
                        "followers_count": 3}}
        if draw(st.booleans()):  # a boost: the text is the boosted post's
            status["reblog"] = {**status, "uri": f"https://other.example/statuses/{i}", "reblog": None}
            status["content"] = ""
        _mutate(draw, status, ("uri", "id", "url", "account", "account.acct", "account.url", "language",
                               "spoiler_text", "reblog.content", "reblog.uri"), ("created_at", "edited_at"))
        statuses.append(status)
    body = json.dumps({"accounts": [], "statuses": statuses, "hashtags": []}, ensure_ascii=draw(st.booleans()))
    cut = draw(st.one_of(st.none(), st.none(), st.none(), st.floats(0.1, 0.99)))
    raw = body.encode()
    return (raw[: int(len(raw) * cut)] if cut else raw), statuses


@st.composite
def reddit_pages(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]]]:
    children: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["t1", "t3", "more"]))
        data: dict[str, Any] = {"name": f"{kind}_x{i}", "id": f"x{i}", "author": "a", "subreddit": "espresso",
                                "created_utc": 1773050400.0 + i, "score": 1,
                                "permalink": f"/r/espresso/comments/x{i}/_/"}
        text = f"{draw(st.sampled_from(_ITEM_TEXTS))} {MARK}{i}x"
        if kind == "t3":
            data.update({"title": text, "selftext": draw(st.sampled_from(["", "[removed]", "more words"]))})
            if draw(st.booleans()):
                data["title"], data["selftext"] = "", text
        elif kind == "t1":
            data.update({"body": text, "link_id": "t3_x0", "parent_id": "t3_x0", "edited": False})
            if draw(st.booleans()):
                data["body"], data["body_html"] = None, f'<div class="md">{_text_html(draw, i)}</div>'
        else:
            data = {"count": 3, "name": f"t1_more{i}", "id": f"more{i}", "children": ["a", "b"]}
        _mutate(draw, data, ("permalink", "author", "subreddit", "id", "name", "link_id"), ("created_utc", "edited"))
        children.append({"kind": kind, "data": data})
    body = json.dumps({"kind": "Listing", "data": {"after": None, "dist": len(children), "children": children}},
                      ensure_ascii=draw(st.booleans()))
    cut = draw(st.one_of(st.none(), st.none(), st.none(), st.floats(0.1, 0.99)))
    raw = body.encode()
    return (raw[: int(len(raw) * cut)] if cut else raw), children


def _api_page_loses_nothing(world: World, table: dict[str, Any], path: str, body: bytes,
                            items: list[dict[str, Any]], whole: Callable[[dict[str, Any]], bool]) -> None:
    """Poll one generated page; every item whose payload still carries its marker is stored or
    dead-lettered with a reason, stored when it kept its identity (``whole``): a broken date,
    a missing author or URL cost it nothing; and the source's health says what happened."""
    name = world.name()
    world.routes[f"/{name}{path}"] = (body, "application/json; charset=utf-8")
    cfg = ConnectorSettings.model_validate({"name": name, "base_url": f"{world.base}/{name}", "query": ["lumetta"],
                                            "allow_private_hosts": True, **table})

    async def poll() -> dict[str, Any]:
        async with Poller(world.services, sleep=world.sleep) as poller:
            return await poller.poll(cfg)

    out = world.run(poll())
    texts, dead, state = world.run(_outcome(world, name))
    if not _json_ok(body):
        assert not out["ok"] and state["last_error"] and state["consecutive_failures"] == 1, out
        return
    for i, item in enumerate(items):
        marker = f"{MARK}{i}x"
        if marker in json.dumps(item, ensure_ascii=False):
            stored = any(marker in t for t in texts)
            assert stored or any(marker in raw and reason for reason, raw in dead), (marker, item, out, dead)
            assert stored or not whole(item), (marker, item, out, dead)
    _health_reflects(texts, dead, state)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(page=mastodon_pages())
def test_mutated_mastodon_pages_lose_nothing_in_silence(world: World,
                                                       page: tuple[bytes, list[dict[str, Any]]]) -> None:
    _api_page_loses_nothing(world, {"type": "mastodon"}, "/api/v2/search", *page,
                            whole=lambda status: bool(status.get("uri")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(page=reddit_pages())
def test_mutated_reddit_listings_lose_nothing_in_silence(world: World,
                                                        page: tuple[bytes, list[dict[str, Any]]]) -> None:
    _api_page_loses_nothing(world, {"type": "reddit"}, "/search", *page,
                            whole=lambda child: bool(child["data"].get("name")))
