"""HTML fragments to plain text, with a real parser (BeautifulSoup over ``html.parser``).

Used for Mastodon ``content``, HN ``comment_text``, YouTube ``textDisplay`` and feed summaries:

* ``<p>``, ``<div>``, ``<li>``, headings and ``<br>`` become line breaks;
* Mastodon's split links (``<span class="invisible">https://www.</span><span
  class="ellipsis">example.com/lo</span><span class="invisible">ng</span>``) are joined back into
  the full URL text, never dropped;
* entities are decoded (``&#x27;`` → ``'``, ``&nbsp;`` → space);
* ``<script>``/``<style>`` are removed; runs of spaces collapse to one, blank lines to one break.
"""
from __future__ import annotations

import re

from bs4 import BeautifulSoup
from bs4.element import Comment, NavigableString, Tag

__all__ = ["html_to_text", "collapse_whitespace"]

_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
    "tr", "table", "section", "article", "header", "footer", "dd", "dt",
}
_DROP_TAGS = {"script", "style", "template", "head", "noscript"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def collapse_whitespace(text: str) -> str:
    """Collapse spaces within lines, drop blank lines, strip the ends."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _NEWLINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def html_to_text(fragment: str | None) -> str:
    """Return the plain text of an HTML fragment (see the module docstring for the rules)."""
    if not fragment:
        return ""
    soup = BeautifulSoup(fragment, "html.parser")
    parts: list[str] = []
    _walk(soup, parts)
    return collapse_whitespace("".join(parts))


def _walk(node: Tag, parts: list[str]) -> None:
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            # A line break in HTML source is just whitespace; only <br> and blocks break lines.
            parts.append(str(child).replace("\r", " ").replace("\n", " "))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _DROP_TAGS:
            continue
        if name == "br":
            parts.append("\n")
            continue
        block = name in _BLOCK_TAGS
        if block:
            parts.append("\n")
        _walk(child, parts)
        if block:
            parts.append("\n")
