"""Conformance: real-world feeds, fetched over HTTP from a local server, lose no entry that has
text. Each fixture in tests/fixtures/connectors/feeds is a feed as publishers serve it: not
well-formed (leading newline or comment, HTML entities, a tag left open, a cut download), items
with nothing but a description, legacy charsets with none declared, dates in several languages."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import PollResult
from tests.conformance.feedserver import START, PayloadServer, payload_server

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "connectors" / "feeds"


@pytest.fixture
async def server() -> AsyncIterator[PayloadServer]:
    async with payload_server() as running:
        yield running


async def poll_feed(server: PayloadServer, name: str, content_type: str = "application/rss+xml") -> PollResult:
    url = server.put(f"/feeds/{name}", (FEEDS / name).read_bytes(), content_type)
    return await server.connector({"name": "news", "type": "rss", "feeds": [url]}).poll(None)


@pytest.mark.parametrize(("name", "expected"), [
    ("podcast_leading_newline.rss.xml", ["caffe-ep-42", "caffe-ep-41", "caffe-ep-40"]),
    ("comment_before_declaration.rss.xml", ["caffe-ep-42", "caffe-ep-41", "caffe-ep-40"]),
    ("undefined_entities.rss.xml", ["https://rassegna.example/2026/03/lumetta-stabilimento",
                                    "https://rassegna.example/2026/03/prezzi-caffe"]),
    ("unclosed_tag.rss.xml", ["https://barista.example/lumetta-un-anno", "https://barista.example/decalcificare"]),
    ("truncated_download.rss.xml", ["caffe-ep-42", "caffe-ep-41"]),
])
async def test_not_well_formed_feed_keeps_recovered_entries_and_warns(server: PayloadServer, name: str,
                                                                      expected: list[str]) -> None:
    """What the lenient parser recovered is kept; the source gets a warning naming the problem."""
    result = await poll_feed(server, name)
    assert [m.external_id for m in result.mentions] == expected
    assert all("Lumetta" in m.text or "Macinatura" in m.text or "Caffè" in m.text or "Decalcificare" in m.text
               for m in result.mentions)
    assert [w.kind for w in result.warnings] == ["lenient_parse"], result.warnings
    assert "not well-formed" in result.warnings[0].message and result.warnings[0].stream.startswith("feed0:")
    # the truncated download: its cut entry is in the dead letter with the body, not dropped in silence
    if name.startswith("truncated"):
        assert len(result.rejects) == 1 and "Domande" in result.rejects[0].raw
    else:
        assert result.rejects == []


async def test_entities_decoded_not_lost(server: PayloadServer) -> None:
    """HTML entities XML does not define still become their characters."""
    result = await poll_feed(server, "undefined_entities.rss.xml")
    assert result.mentions[0].text.startswith("Lumetta\xa0apre") or result.mentions[0].text.startswith("Lumetta apre")
    assert "L’azienda annuncia 120 assunzioni – prima" in result.mentions[0].text
    assert "é solo l’inizio" in result.mentions[1].text


async def test_description_only_items_are_stored_with_a_content_key(server: PayloadServer) -> None:
    """RSS 2.0 allows an item with only a description: it gets a stable key from its content."""
    first = await poll_feed(server, "description_only_items.rss.xml")
    assert first.rejects == [] and len(first.mentions) == 3
    keys = [m.external_id for m in first.mentions]
    assert len(set(keys)) == 3 and all(k.startswith("sha256:content:") for k in keys)
    assert first.mentions[1].text == "Firmware 2.4 for the Lumetta Duetto is rolling out — update tonight."
    again = await poll_feed(server, "description_only_items.rss.xml")
    assert [m.external_id for m in again.mentions] == keys  # stable: the same item, the same key



async def test_items_with_only_a_date_and_a_description_are_told_apart_by_content(server: PayloadServer) -> None:
    """A digest stamps every item with the same date: without id, link or title, the date does not
    identify an item, its content does (both items are stored, neither is taken for an edit of the other)."""
    result = await poll_feed(server, "dated_description_only_items.rss.xml")
    assert result.rejects == [] and len(result.mentions) == 2
    assert len({m.external_id for m in result.mentions}) == 2
    assert all(m.external_id.startswith("sha256:content:") for m in result.mentions)

_UNDECLARED = {
    "koi8-r": "Покупатели жалуются, что новая кофеварка Lumetta протекает",
    "shift_jis": "新しいコーヒーメーカーを一週間使ってみました",
    "euc-jp": "購入したばかりのコーヒーメーカーが動かなくなりました",
    "euc-kr": "새로 산 커피머신이 일주일 만에 물이 새기 시작했습니다",
    "gb2312": "我上周买了这台咖啡机，味道很好",
    "windows-1252": "Le moulin à café coûte 129 € et fonctionne très bien",
}


@pytest.mark.parametrize("charset", list(_UNDECLARED))
async def test_undeclared_legacy_charset_is_detected(server: PayloadServer, charset: str) -> None:
    """A feed in a legacy charset that declares none (no HTTP charset, no encoding= in the XML
    declaration) is read in its real charset, not as windows-1252 mojibake."""
    result = await poll_feed(server, f"undeclared_{charset}.rss.xml", content_type="application/rss+xml")
    assert len(result.mentions) == 3 and result.rejects == []
    assert all(_UNDECLARED[charset] in m.text for m in result.mentions), result.mentions[0].text
    assert [w for w in result.warnings if w.kind == "lenient_parse"] == []
    # each item says its text was decoded by a detected charset (the item API and page show it)
    assert all(m.provenance["encoding"].startswith("charset detected as") for m in result.mentions)


async def test_declared_charset_that_lies_is_detected_and_warned(server: PayloadServer) -> None:
    """A feed whose HTTP header says UTF-8 but whose bytes are KOI8-R is read as KOI8-R, with a warning."""
    result = await poll_feed(server, "undeclared_koi8-r.rss.xml", content_type="application/rss+xml; charset=utf-8")
    assert all(_UNDECLARED["koi8-r"] in m.text for m in result.mentions)
    assert any(w.kind == "encoding" and "does not decode" in w.message for w in result.warnings)


async def test_localized_and_broken_dates(server: PayloadServer) -> None:
    """Day and month names in French, German, Italian and Spanish are read; a date nothing can
    read falls back to another date of the entry, then to the fetch time, and says so."""
    result = await poll_feed(server, "localized_dates.rss.xml")
    by_id = {m.external_id: m for m in result.mentions}
    assert by_id["presse-fr-1"].created_at == datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert by_id["presse-de-1"].created_at == datetime(2026, 3, 4, 13, 30, tzinfo=UTC)
    assert by_id["presse-it-1"].created_at == datetime(2026, 3, 5, 7, tzinfo=UTC)
    assert by_id["presse-es-1"].created_at == datetime(2026, 3, 6, 8, 45, tzinfo=UTC)
    assert "localized" in by_id["presse-fr-1"].provenance["created_at"]
    bad = by_id["presse-bad-1"]
    assert bad.created_at == START and bad.provenance["created_at"].startswith("fetch time")
    assert "sometime after lunch" in bad.provenance["created_at"]
    upd = by_id["presse-upd-1"]
    assert upd.created_at == datetime(2026, 3, 7, 10, tzinfo=UTC) and upd.provenance["created_at"].startswith("updated")
    assert any(w.kind == "date" and "2 items" in w.message for w in result.warnings), result.warnings


async def test_seen_set_holds_the_whole_feed(server: PayloadServer) -> None:
    """A 730-item feed is delivered once: the second poll of the same feed hands over nothing."""
    items = "".join(f"<item><guid>long-{i}</guid><title>Lumetta item {i}</title>"
                    f"<pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>" for i in range(730))
    body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Long</title>{items}'
            "</channel></rss>")
    url = server.put("/feeds/long.xml", body.encode())
    connector = server.connector({"name": "news", "type": "rss", "feeds": [url]})
    first = await connector.poll(None)
    second = await connector.poll(first.cursor)
    assert len(first.mentions) == 730 and second.mentions == [] and second.read == 730


async def test_unreadable_feed_dead_lettered_once(server: PayloadServer) -> None:
    """A body nothing can be read from is one reject, and not again while it stays the same."""
    url = server.put("/feeds/broken.xml", b"\x00\x01 Lumetta <<< not a feed", "application/xml")
    connector = server.connector({"name": "news", "type": "rss", "feeds": [url]})
    first = await connector.poll(None)
    second = await connector.poll(first.cursor)
    assert len(first.rejects) == 1 and "malformed feed" in first.rejects[0].reason and first.read == 0
    assert second.rejects == [] and second.mentions == []


async def test_items_sharing_an_identity_are_all_stored(server: PayloadServer) -> None:
    """A feed that gives every item the same guid or link (its home page) still has distinct items:
    each text is stored, the later ones keyed by their content as well, the source warned; an
    exact repeat is one item."""
    first = await poll_feed(server, "shared_identity.rss.xml")
    assert [m.text for m in first.mentions] == [
        "Lumetta apre un nuovo stabilimento a Brescia", "Clienti Lumetta segnalano ritardi nelle consegne",
        "Lumetta Duetto, il richiamo riguarda solo il lotto 42"]
    assert len({m.external_id for m in first.mentions}) == 3 and first.rejects == []
    assert all("#sha256:content:" in m.external_id for m in first.mentions)
    assert [w.kind for w in first.warnings] == ["identity"] and "3 items" in first.warnings[0].message
    again = await poll_feed(server, "shared_identity.rss.xml")
    assert [m.external_id for m in again.mentions] == [m.external_id for m in first.mentions]  # stable keys


async def test_a_new_item_sharing_the_identity_arrives_on_the_next_poll(server: PayloadServer) -> None:
    """The feed that gives every item its home page as link gets a new item on top: the next poll
    hands over that item alone (keys do not depend on the items' order)."""
    body = (FEEDS / "shared_identity.rss.xml").read_bytes()
    url = server.put("/feeds/shared.xml", body)
    connector = server.connector({"name": "news", "type": "rss", "feeds": [url]})
    first = await connector.poll(None)
    new_item = (b"<item><title>Lumetta assume 50 tecnici</title><link>https://rassegna-locale.example/</link>"
                b"</item>")
    server.put("/feeds/shared.xml", body.replace(b"<item>", new_item + b"<item>", 1))
    second = await connector.poll(first.cursor)
    assert [m.text for m in second.mentions] == ["Lumetta assume 50 tecnici"]


async def test_items_the_lenient_parser_could_not_recover_are_dead_lettered(server: PayloadServer) -> None:
    """An unclosed CDATA section swallows the items after it: the recovered ones are kept and the
    body, which still holds the others, is dead-lettered saying how many were not recovered."""
    result = await poll_feed(server, "unclosed_cdata.rss.xml")
    assert [m.external_id for m in result.mentions] == ["https://barista.example/duetto-un-anno",
                                                        "https://barista.example/decalcificare"]
    assert len(result.rejects) == 1 and "1 of the body's items were not recovered" in result.rejects[0].reason
    assert "Lumetta Aria non si accende" in result.rejects[0].raw


async def test_podcast_episode_with_only_a_subtitle_and_an_epoch_date(server: PayloadServer) -> None:
    """An episode whose only text is its itunes:subtitle is stored; a pubDate in epoch seconds
    (which feedparser reads as the year 1763) is read as epoch seconds."""
    result = await poll_feed(server, "podcast_subtitle_only.rss.xml")
    assert result.rejects == [] and len(result.mentions) == 1
    assert result.mentions[0].text == "Ospite il team di Lumetta: come nasce la Duetto"
    assert result.mentions[0].created_at == datetime(2026, 3, 7, 8, tzinfo=UTC)


async def test_declared_utf8_that_is_windows_1252(server: PayloadServer) -> None:
    """A Western feed that declares UTF-8 but is windows-1252 (the usual lie) is read as
    windows-1252, not as its windows-1250 twin (caffč), with a warning."""
    result = await poll_feed(server, "declared_utf-8_is_windows-1252.rss.xml")
    assert result.mentions[0].text == ("Lumetta, caffè perfetto a 129 €\n"
                                       "L’azienda – “ottimo” caffè anche per chi è alle prime armi.")
    assert any(w.kind == "encoding" and "cp1252" in w.message for w in result.warnings)


async def test_atom_ids_are_not_links(server: PayloadServer) -> None:
    """An Atom entry with an ``urn:`` id and no link has no URL (not its id as one)."""
    result = await poll_feed(server, "atom_ids_without_links.atom.xml", "application/atom+xml")
    expected = [("urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", None)]
    assert [(m.external_id, m.url) for m in result.mentions] == expected
