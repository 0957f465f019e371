"""Pure parse functions of Mastodon, Bluesky, Reddit and Hacker News on recorded-format JSON."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.bluesky import parse_search_posts
from connectors.errors import PayloadError
from connectors.hackernews import parse_search
from connectors.mastodon import parse_statuses
from connectors.reddit import matches_terms, parse_listing
from connectors.replay import SAMPLES_DIR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "connectors"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_mastodon_status_fields() -> None:
    """A status maps uri→external_id, strips HTML, keeps the CW first, qualifies local handles."""
    mentions, rejects = parse_statuses(load("mastodon_statuses.json"), source="masto", instance_host="example.social")
    first = mentions[0]
    assert first.external_id == "https://example.social/users/ann/statuses/1"
    assert first.text == "broken machine\n@lumetta my Aria won't heat.\nSee https://photos.example/aria/broken/1234"
    assert first.author_handle == "ann@example.social" and first.author_followers == 12
    assert first.created_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert first.edited_at == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    assert first.reply_to_id == "116000000000000001" and first.language == "en"
    assert first.metrics == {"replies": 1, "reposts": 2, "likes": 3, "quotes": 0}
    assert first.source == "masto" and first.platform == "mastodon" and first.raw["id"] == "116000000000000010"
    assert [r.position for r in rejects] == [2] and "uri" in rejects[0].reason


def test_mastodon_boost_is_repost_of_original() -> None:
    """A boost keeps its own uri, takes the original's text and points at reblog.uri."""
    mentions, _ = parse_statuses(load("mastodon_statuses.json"), source="masto")
    boost = mentions[1]
    assert boost.is_repost and boost.original_external_id == "https://third.example/users/cat/statuses/5"
    assert boost.text == "La Lumetta Duetto è fantastica" and boost.language == "it"
    assert boost.url == "https://third.example/@cat/5" and boost.author_handle == "bob@other.example"


def test_mastodon_rejects_non_list() -> None:
    """A body that is neither a list nor a search result is a PayloadError."""
    with pytest.raises(PayloadError):
        parse_statuses({"error": "Not Found"}, source="masto")


def test_mastodon_samples_all_parse() -> None:
    """Every status in our own samples parses, with no HTML left."""
    payload = json.loads((SAMPLES_DIR / "mastodon" / "search_lumetta.json").read_text())
    mentions, rejects = parse_statuses(payload, source="m")
    assert len(mentions) == 6 and not rejects
    assert all("<" not in m.text for m in mentions)
    assert sum(m.is_repost for m in mentions) == 1


def test_bluesky_post_fields() -> None:
    """A postView maps uri, a DID-based URL, first lang, reply parent/root and metrics."""
    mentions, rejects = parse_search_posts(load("bluesky_posts.json"), source="bsky")
    post = mentions[0]
    assert post.external_id == "at://did:plc:abc123/app.bsky.feed.post/3kreply1"
    assert post.url == "https://bsky.app/profile/did:plc:abc123/post/3kreply1"
    assert post.language == "it" and post.author_handle == "ann.bsky.social" and post.author_name == "Ann"
    assert post.reply_to_id == "at://did:plc:parent/app.bsky.feed.post/3kparent"
    assert post.thread_id == "at://did:plc:root/app.bsky.feed.post/3kroot"
    assert post.created_at == datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)
    assert post.metrics["likes"] == 2
    quote = mentions[1]
    assert quote.language is None and not quote.is_repost
    assert len(rejects) == 1 and rejects[0].position == 2


def test_reddit_posts_comments_crossposts_deleted() -> None:
    """t3/t1 children map to mentions; crossposts are reposts; [deleted] is flagged; 'more' skipped."""
    mentions, rejects = parse_listing(load("reddit_listing.json"), source="reddit")
    by_id = {m.external_id: m for m in mentions}
    post = by_id["t3_p1"]
    assert post.text == "Lumetta Aria: E07\nDead after a year"
    assert post.url == "https://www.reddit.com/r/espresso/comments/p1/lumetta/"
    assert post.edited_at == datetime.fromtimestamp(1772446000, UTC) and post.metrics["subreddit"] == "espresso"
    cross = by_id["t3_x1"]
    assert cross.is_repost and cross.original_external_id == "t3_p1"
    deleted = by_id["t1_c1"]
    assert deleted.deleted and deleted.reply_to_id == "t3_p1" and deleted.thread_id == "t3_p1"
    assert set(by_id) == {"t3_p1", "t3_x1", "t1_c1"}
    assert [r.position for r in rejects] == [4]


def test_reddit_listing_shape_checked() -> None:
    """Anything but a Listing is a PayloadError."""
    with pytest.raises(PayloadError):
        parse_listing({"kind": "t3"}, source="reddit")


def test_reddit_local_matching_uses_word_boundaries() -> None:
    """Brand matching is case-insensitive on word boundaries, and '#tag' terms match the word."""
    assert matches_terms("My LUMETTA broke", ["lumetta"])
    assert matches_terms("love #lumetta", ["#lumetta"])
    assert not matches_terms("lumettas are not it", ["lumetta"])


def test_hackernews_comment_and_story() -> None:
    """Comment HTML is stripped and decoded (never _highlightResult); stories are title + text."""
    mentions, rejects = parse_search(load("hn_hits.json"), source="hn")
    comment, story = mentions
    assert comment.text == "Lumetta's firmware & PID\nSecond paragraph with link"
    assert "SHOULD NOT APPEAR" not in comment.text
    assert comment.url == "https://news.ycombinator.com/item?id=102"
    assert comment.reply_to_id == "101" and comment.thread_id == "100"
    assert comment.edited_at == datetime(2026, 3, 2, 15, 20, tzinfo=UTC)
    assert story.text == "Lumetta opens its firmware\nAsk me anything" and story.metrics == {"score": 12, "replies": 3}
    assert len(rejects) == 1 and "objectID" in rejects[0].reason


def test_hackernews_sample_malformed_hit_is_rejected() -> None:
    """Our samples hold one malformed HN hit (an object where the comment's HTML belongs): it
    becomes a Reject, the rest parse."""
    payload = json.loads((SAMPLES_DIR / "hackernews" / "search_by_date_lumetta.json").read_text())
    mentions, rejects = parse_search(payload, source="hn")
    assert len(mentions) == 4 and len(rejects) == 1 and "Lumetta Lumetta" in rejects[0].raw


def test_hackernews_bad_created_at_falls_back_to_created_at_i() -> None:
    """A hit whose created_at is no date takes created_at_i, and says so in its provenance."""
    payload = json.loads((SAMPLES_DIR / "hackernews" / "search_by_date_lumetta.json").read_text())
    payload["hits"][0]["comment_text"] = "Lumetta Lumetta Lumetta"
    mentions, rejects = parse_search(payload, source="hn")
    assert rejects == [] and mentions[0].created_at == datetime.fromtimestamp(1772784000, UTC)
    assert mentions[0].provenance["created_at"] == "created_at_i (created_at 'not-a-date' is not a date)"


def test_bluesky_post_of_images_alone_keeps_their_alt_text() -> None:
    """A post with no text but images with alt text (as the record holds them, as the view shows
    them, inside a record-with-media embed) is stored with the alt texts, noted in provenance; one
    whose images have no alt text has nothing to read and is rejected."""
    def post(rkey: str, record_embed: Any, view_embed: Any = None) -> dict[str, Any]:
        return {"uri": f"at://did:plc:pics/app.bsky.feed.post/{rkey}", "cid": f"c{rkey}",
                "author": {"did": "did:plc:pics", "handle": "pics.bsky.social"},
                "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-03-02T10:00:00Z", "text": "",
                           **({"embed": record_embed} if record_embed else {})},
                **({"embed": view_embed} if view_embed else {}), "indexedAt": "2026-03-02T10:00:01Z"}
    image = {"$type": "blob", "ref": {"$link": "bafkimg"}, "mimeType": "image/jpeg", "size": 1000}
    payload = {"posts": [
        post("a1", {"$type": "app.bsky.embed.images",
                    "images": [{"image": image, "alt": "A Lumetta  kettle with a cracked base"},
                               {"image": image, "alt": "Scorch marks on the counter"}]}),
        post("a2", None, {"$type": "app.bsky.embed.images#view",
                          "images": [{"thumb": "https://cdn.example/t.jpg", "fullsize": "https://cdn.example/f.jpg",
                                      "alt": "Lumetta receipt"}]}),
        post("a3", {"$type": "app.bsky.embed.recordWithMedia",
                    "record": {"record": {"uri": "at://did:plc:x/app.bsky.feed.post/q", "cid": "q"}},
                    "media": {"$type": "app.bsky.embed.images", "images": [{"image": image, "alt": "Lumetta box"}]}}),
        post("a4", {"$type": "app.bsky.embed.images", "images": [{"image": image, "alt": ""}]}),
    ]}
    mentions, rejects = parse_search_posts(payload, source="bsky")
    texts = {m.external_id.rsplit("/", 1)[1]: m.text for m in mentions}
    assert texts == {"a1": "A Lumetta kettle with a cracked base\nScorch marks on the counter",
                     "a2": "Lumetta receipt", "a3": "Lumetta box"}
    assert all(m.provenance["text"].startswith("image alt text") for m in mentions)
    assert [r.position for r in rejects] == [3]


def test_bluesky_post_with_text_and_images_reads_only_its_text() -> None:
    """Alt text stands in only when the post has no text of its own."""
    payload = {"posts": [{"uri": "at://did:plc:p/app.bsky.feed.post/t1", "cid": "c", "author": {"handle": "p"},
                          "record": {"text": "My Lumetta", "createdAt": "2026-03-02T10:00:00Z",
                                     "embed": {"$type": "app.bsky.embed.images", "images": [{"alt": "photo"}]}},
                          "indexedAt": "2026-03-02T10:00:01Z"}]}
    mentions, _ = parse_search_posts(payload, source="bsky")
    assert [m.text for m in mentions] == ["My Lumetta"] and "text" not in mentions[0].provenance
