"""Reply length as each platform counts it, and canned-response placeholders."""
from __future__ import annotations

from inbox.domain.reply_text import check_reply, fill_placeholders, reply_length


def test_bluesky_counts_graphemes() -> None:
    assert reply_length("bluesky", "👍🏽" * 300) == 300          # skin tone: one grapheme, two code points
    assert reply_length("bluesky", "e\u0301" * 10) == 10          # e + combining accent
    assert check_reply("bluesky", "👍🏽" * 300) is None
    assert "at most 300" in (check_reply("bluesky", "a" * 301) or "")


def test_x_weights_and_links() -> None:
    assert reply_length("x", "hello") == 5
    assert reply_length("x", "日本") == 4                          # CJK weighs 2
    assert reply_length("x", "👨‍👩‍👧") == 2                          # one emoji sequence weighs 2
    assert reply_length("x", "see https://example.org/" + "a" * 100) == 4 + 23
    assert check_reply("x", "a" * 280) is None
    assert "281 weighted characters" in (check_reply("x", "a" * 281) or "")


def test_mastodon_characters_and_long_platforms() -> None:
    assert reply_length("mastodon", "https://example.org/" + "x" * 300) == 23
    assert check_reply("mastodon", "é" * 500) is None
    assert "at most 500" in (check_reply("mastodon", "é" * 501) or "")
    assert check_reply("reddit", "a" * 10_000) is None and check_reply("youtube", "a" * 10_001) is not None
    assert check_reply("mastodon", " \n ") == "a reply needs text"


def test_placeholders() -> None:
    assert fill_placeholders("Ciao {author}, sono {agent}.", author="giulia@other.example", agent="Carla") == \
        "Ciao @giulia@other.example, sono Carla."
    assert fill_placeholders("Hi {author}! {x}", author=None, agent="A") == "Hi ! {x}"
