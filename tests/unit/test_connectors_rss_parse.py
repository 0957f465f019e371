"""Feeds: identity rules, Google Alerts unwrapping, malformed feeds as rejects."""
from __future__ import annotations

from pathlib import Path

from connectors.replay import SAMPLES_DIR
from connectors.rss import parse_feed, read_feed, unwrap_google_redirect

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "connectors"


def test_identity_guid_then_link_then_hash() -> None:
    """guid first, then link, then a hash of title+date; an empty item is rejected."""
    mentions, rejects = parse_feed((FIXTURES / "feed_identity.xml").read_bytes(), source="news")
    ids = [m.external_id for m in mentions]
    assert ids[0] == "urn:blog:a" and ids[1] == "https://blog.example/b" and ids[2].startswith("sha256:")
    assert mentions[1].text == "Link only\nLumetta B & more"
    assert mentions[0].created_at is not None and mentions[0].created_at.tzinfo is not None
    assert len(rejects) == 1 and rejects[0].position == 3


def test_malformed_feed_keeps_what_the_lenient_parser_recovered() -> None:
    """A feed that is not well-formed XML keeps its recovered entry and warns the source."""
    body = (FIXTURES / "feed_malformed.xml").read_bytes()
    got = read_feed(body, source="news")
    assert [m.external_id for m in got.mentions] == ["https://news.example/1"] and got.rejects == []
    assert [w.kind for w in got.warnings] == ["lenient_parse"] and "not well-formed" in got.warnings[0].message


def test_unreadable_body_is_one_reject() -> None:
    """A body nothing can be read from becomes a single reject carrying the body."""
    mentions, rejects = parse_feed(b"\x00\x01 Lumetta news <<<", source="news")
    assert mentions == [] and len(rejects) == 1 and "malformed feed" in rejects[0].reason
    assert "Lumetta news" in rejects[0].raw and rejects[0].key is not None


def test_html_error_page_is_rejected() -> None:
    """An HTML error page served with 200 is not a feed."""
    mentions, rejects = parse_feed(b"<html><body><h1>502 Bad Gateway</h1></body></html>", source="news",
                                   content_type="text/html")
    assert not mentions and len(rejects) == 1 and "feed" in rejects[0].reason


def test_google_alerts_links_unwrapped_and_markup_stripped() -> None:
    """Alert links point at the article, titles and content lose their <b> markup."""
    body = (SAMPLES_DIR / "rss" / "google_alerts_lumetta.atom.xml").read_bytes()
    mentions, rejects = parse_feed(body, source="alerts")
    assert not rejects and len(mentions) == 3
    assert mentions[0].url == "https://caffeblog.example/2026/03/lumetta-duetto-recensione"
    assert mentions[0].external_id == "tag:google.com,2013:googlealerts/feed:900000000000000001"
    assert all("<b>" not in m.text and "&nbsp;" not in m.text for m in mentions)
    assert mentions[2].text.startswith("Lumetta Aria won't turn on")


def test_unwrap_leaves_other_links() -> None:
    """Only google.com/url redirects are unwrapped."""
    assert unwrap_google_redirect("https://www.google.com/url?rct=j&url=https://a.example/x&ct=ga") == "https://a.example/x"
    assert unwrap_google_redirect("https://example.com/url?url=https://evil.example") == "https://example.com/url?url=https://evil.example"


def test_rss_language_and_atom_xml_lang() -> None:
    """RSS <language> and Atom xml:lang become the mention language; raw is JSON-safe."""
    rss, _ = parse_feed((SAMPLES_DIR / "rss" / "economia_it.rss.xml").read_bytes(), source="n")
    atom, _ = parse_feed((SAMPLES_DIR / "rss" / "business_en.atom.xml").read_bytes(), source="n")
    assert {m.language for m in rss} == {"it"} and {m.language for m in atom} == {"en"}
    assert atom[1].edited_at is not None and "fragile & the app" in atom[1].text
    assert all(not any(k.endswith("_parsed") for k in m.raw) for m in rss + atom)


def test_a_utf16_feed_cut_inside_a_character_keeps_its_entries() -> None:
    """A truncated download of a UTF-16 feed ends with half a character: the entries before it are kept,
    with a warning, instead of the whole body being dead-lettered as malformed."""
    from connectors.rss import read_feed

    doc = ('<?xml version="1.0" encoding="utf-16"?>\n<rss version="2.0"><channel><title>F</title>'
           '<link>https://feed.example/</link><description>d</description>'
           '<item><guid>g1</guid><description>il mio ordine è rotto</description></item>'
           '<item><guid>g2</guid><description>second</description></item></channel></rss>\n')
    body = doc.encode("utf-16")
    got = read_feed(body[:-1], source="s")
    assert [m.text for m in got.mentions][:1] == ["il mio ordine è rotto"]
    assert not got.rejects
    assert any("inside a character" in w.message for w in got.warnings)


def test_a_date_the_parser_reads_as_year_zero_falls_back_instead_of_rejecting() -> None:
    """feedparser turns ``0000000`` into a year-0 tuple: the item is stored (the date falls back), not rejected."""
    from connectors.rss import read_feed

    doc = ('<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><link>https://f.example/</link>'
           '<description>d</description><item><guid>g</guid><pubDate>0000000</pubDate>'
           '<description>caffè perfetto</description></item></channel></rss>')
    got = read_feed(doc.encode(), source="s")
    assert [m.text for m in got.mentions] == ["caffè perfetto"] and not got.rejects
