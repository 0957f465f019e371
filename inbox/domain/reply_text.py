"""How long a reply is, counted the way each platform counts it, and canned-response placeholders.

- Mastodon: 500 characters (code points); a link counts 23 whatever its length, as Mastodon does.
- Bluesky: 300 graphemes (what a reader sees as one character: "👍🏽" or "é" written as e + accent
  are one each).
- X: 280 in X's weighted count (twitter-text v3): code points in the Latin, general punctuation and
  similar ranges count 1, everything else (CJK, most symbols) 2, an emoji sequence 2, a link 23.
- Reddit and YouTube: 10,000 characters.
The web composer counts with the same rules (inbox/web/static/composer.js).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex  # type: ignore[import-untyped]  # no stubs are published

__all__ = ["LengthRule", "RULES", "reply_length", "check_reply", "fill_placeholders", "URL_LENGTH"]

URL_LENGTH = 23
_URL = regex.compile(r"https?://[^\s<>\"']+", regex.IGNORECASE)
_EMOJI = regex.compile(r"\p{Extended_Pictographic}")
# twitter-text v3 configuration: ranges weighted 100 (1 character); the rest weigh 200 (2)
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


@dataclass(frozen=True, slots=True)
class LengthRule:
    limit: int
    unit: str          # "characters" | "graphemes" | "weighted characters"
    urls_count: int | None = None


RULES: dict[str, LengthRule] = {
    "mastodon": LengthRule(500, "characters", URL_LENGTH),
    "bluesky": LengthRule(300, "graphemes"),
    "x": LengthRule(280, "weighted characters", URL_LENGTH),
    "reddit": LengthRule(10_000, "characters"),
    "youtube": LengthRule(10_000, "characters"),
}


def _x_weight(cluster: str) -> int:
    if _EMOJI.search(cluster):
        return 2
    total = 0
    for ch in cluster:
        cp = ord(ch)
        total += 1 if any(lo <= cp <= hi for lo, hi in _X_LIGHT) else 2
    return total


def reply_length(platform: str, text: str) -> int:
    """``text``'s length as ``platform`` counts it (characters for a platform without a rule)."""
    rule = RULES.get(platform)
    if rule is None:
        return len(text)
    text = unicodedata.normalize("NFC", text)
    urls = 0
    if rule.urls_count is not None:
        urls = len(_URL.findall(text)) * rule.urls_count
        text = _URL.sub("", text)
    if platform == "bluesky":
        return len(regex.findall(r"\X", text))
    if platform == "x":
        return urls + sum(_x_weight(c) for c in regex.findall(r"\X", text))
    return urls + len(text)


def check_reply(platform: str, text: str) -> str | None:
    """None when ``text`` may be sent to ``platform``; otherwise the reason, naming the limit."""
    if not text.strip():
        return "a reply needs text"
    rule = RULES.get(platform)
    if rule is None:
        return None
    n = reply_length(platform, text)
    if n > rule.limit:
        return f"the reply is {n} {rule.unit} long; {platform} allows at most {rule.limit}"
    return None


def fill_placeholders(template: str, *, author: str | None, agent: str) -> str:
    """A canned response with ``{author}`` (the mention's author handle, with an @) and ``{agent}``
    (the replying user's display name) filled in; other braces are left as they are."""
    who = (author or "").lstrip("@")
    return template.replace("{author}", f"@{who}" if who else "").replace("{agent}", agent)
