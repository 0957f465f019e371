"""How long a reply is, counted the way each platform counts it, and canned-response placeholders.

- Mastodon: 500 characters (code points); a link (with its http(s)://) counts 23 whatever its
  length, and a remote mention ``@user@domain`` counts as ``@user``, as Mastodon does.
- Bluesky: 300 graphemes (what a reader sees as one character: "👍🏽" or "é" written as e + accent
  are one each).
- X: 280 in X's weighted count (twitter-text v3): code points in the Latin, general punctuation and
  similar ranges count 1, everything else (CJK, most symbols) 2, an emoji sequence 2, a link 23,
  also a link written without http(s):// (``example.com/x``, ``www.example.it``), as twitter-text
  finds them: a domain under a generic TLD of the list below, or under a two-letter country code
  when it has a sub-domain or a path (``example.it`` alone is not a link for X).
- Reddit and YouTube: 10,000 characters.
The web composer counts with the same rules (inbox/web/static/composer.js).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex  # type: ignore[import-untyped]  # no stubs are published

__all__ = ["LengthRule", "RULES", "reply_length", "check_reply", "fill_placeholders", "URL_LENGTH", "GTLDS"]

URL_LENGTH = 23
_PATH = r"(?:/[^\s<>\"']*[^\s<>\"'.,:;!?)\]}])?"
_URL = regex.compile(r"https?://[^\s<>\"'/]+" + _PATH, regex.IGNORECASE)
# generic TLDs a link without a scheme is recognised under (twitter-text knows every TLD; these are
# the ones seen in practice; the composer gets the same list); two-letter labels are country codes
GTLDS = ("com|net|org|info|biz|edu|gov|mil|int|name|pro|mobi|app|dev|io|ai|xyz|online|site|shop|store|blog|tech"
          "|cloud|news|live|page|link|club|top|art|design|email|games|help|media|network|one|social|support|world")
_BARE_URL = regex.compile(r"(?<![\w@.\-/#$])((?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?\.)+)(" + GTLDS + r"|[a-z]{2})"
                          r"(?![\w@-])(?::\d{1,5})?(" + _PATH + r")", regex.IGNORECASE)
_MASTODON_MENTION = regex.compile(r"(?<![/\w])@([a-z0-9_]+)@[\w.-]+[a-z0-9]+", regex.IGNORECASE)
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
        text = _URL.sub("\0", text)  # a mark, dropped below: no link is found across a removed one
    if platform == "x":
        bare, text = _bare_links(text)
        urls += bare * URL_LENGTH
    if platform == "mastodon":
        text = _MASTODON_MENTION.sub(r"@\1", text)
    text = text.replace("\0", "")
    if platform == "bluesky":
        return len(regex.findall(r"\X", text))
    if platform == "x":
        return urls + sum(_x_weight(c) for c in regex.findall(r"\X", text))
    return urls + len(text)


def _bare_links(text: str) -> tuple[int, str]:
    """Links without a scheme that X counts as links (see the module's docstring), and the text
    without them."""
    found = 0

    def one(m: regex.Match[str]) -> str:
        nonlocal found
        labels, tld, path = (str(g or "") for g in m.group(1, 2, 3))
        if len(tld) == 2 and labels.count(".") == 1 and not path:  # "example.it": not a link for X
            return str(m.group(0))
        found += 1
        return "\0"
    stripped = _BARE_URL.sub(one, text)
    return found, stripped


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
