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


def test_x_counts_links_written_without_a_scheme_as_twitter_text_finds_them() -> None:
    assert reply_length("x", "see example.com") == 4 + 23
    assert reply_length("x", "see www.example.it and example.it/x.") == 4 + 23 + 5 + 23 + 1  # the "." is text
    assert reply_length("x", "see example.it") == 14          # a country code without sub-domain or path
    assert reply_length("x", "mail me@example.com") == 19     # an address is not a link
    assert reply_length("x", "http://a.b/c example.com") == 23 + 1 + 23
    assert reply_length("x", "https://a.org/x.com") == 23     # one link, not two
    assert reply_length("x", "e.g. v1.2 ok") == 12
    assert check_reply("x", "example.com " + "a" * 256) is None and check_reply("x", "example.com " + "a" * 257)


def test_mastodon_counts_a_remote_mention_without_its_domain() -> None:
    assert reply_length("mastodon", "@giulia@other.example ciao") == len("@giulia ciao")
    assert reply_length("mastodon", "@giulia ciao") == len("@giulia ciao")
    assert reply_length("mastodon", "see example.com") == 15   # Mastodon wants the scheme
    assert check_reply("mastodon", "@giulia@other.example " + "a" * 492) is None


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


def test_reply_capability_names_what_is_missing() -> None:
    from connectors.config import ConnectorSettings
    from connectors.replies import reply_capability
    masto = ConnectorSettings(name="m", type="mastodon", query=["acme"], reply_token_env="M_TOKEN")
    assert reply_capability(masto, {"M_TOKEN": "x"}) is None
    assert reply_capability(masto, {}) == "the credential variable M_TOKEN is not set"
    plain = ConnectorSettings(name="p", type="reddit", query=["acme"])
    assert "not set up for replies" in (reply_capability(plain, {}) or "")
    hn = ConnectorSettings(name="hn", type="hackernews", query=["acme"])
    assert reply_capability(hn, {}) == "hackernews has no write API"
    assert reply_capability(None, {}) == "this source has no write API"
    import pytest
    with pytest.raises(ValueError, match="no write API"):
        ConnectorSettings(name="r", type="rss", feeds=["https://example.org/f"], reply_token_env="X")
