"""HTML fragments to plain text, with a real parser (the standard library's ``html.parser``).

Used for Mastodon ``content``, HN ``comment_text``, YouTube ``textDisplay`` and feed summaries:

* ``<p>``, ``<div>``, ``<li>``, headings and ``<br>`` become line breaks;
* Mastodon's split links (``<span class="invisible">https://www.</span><span
  class="ellipsis">example.com/lo</span><span class="invisible">ng</span>``) are joined back into
  the full URL text, never dropped;
* entities are decoded (``&#x27;`` → ``'``, ``&nbsp;`` → space);
* ``<script>``/``<style>`` are removed; runs of spaces collapse to one, blank lines to one break.

The text is collected while the parser streams through the fragment, without building a tree:
this runs for every polled item, and a BeautifulSoup tree cost about four times as much. The
result is the text of the tree BeautifulSoup (``html.parser`` builder) would build: an end tag
closes the most recent open element of that name and every element opened after it (a stray end
tag is ignored), void elements close at once, unclosed elements close at the end, and entities
follow BeautifulSoup's rules (``tests/unit/test_connectors_html.py`` checks both against each
other).
"""
from __future__ import annotations

import re
from html.entities import html5
from html.parser import HTMLParser

from bs4.dammit import UnicodeDammit

__all__ = ["html_to_text", "collapse_whitespace"]

_BLOCK_TAGS = frozenset({
    "p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
    "tr", "table", "section", "article", "header", "footer", "dd", "dt",
})
_DROP_TAGS = frozenset({"script", "style", "template", "head", "noscript"})
# elements that never hold content: closed as soon as they open (an explicit end tag is ignored)
_VOID_TAGS = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "command", "embed", "frame", "hr", "image", "img",
    "input", "isindex", "keygen", "link", "menuitem", "meta", "nextid", "param", "source", "spacer", "track",
    "wbr",
})
# HTML5's named references without their semicolon (the parser hands over the bare name), as
# BeautifulSoup decodes them
_ENTITIES: dict[str, str] = {name.removesuffix(";"): char for name, char in html5.items()}
_DECIMAL_PREFIX = re.compile("^([0-9]+)(.*)")
_HEX_PREFIX = re.compile("^([0-9a-f]+)(.*)")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_MARKUP = re.compile(r"[<&]")
_SIMPLE_TAG = re.compile(r"(</?p>|<br>|<br/>|<br />)")


def collapse_whitespace(text: str) -> str:
    """Collapse spaces within lines, drop blank lines, strip the ends."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _NEWLINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def html_to_text(fragment: str | None) -> str:
    """Return the plain text of an HTML fragment (see the module docstring for the rules)."""
    if not fragment:
        return ""
    if not _MARKUP.search(fragment):  # no tag, no entity: only the whitespace rules apply
        return collapse_whitespace(fragment.replace("\r", " ").replace("\n", " "))
    simple = _paragraphs_only(fragment)
    if simple is not None:
        return simple
    parser = _TextParser()
    parser.feed(fragment)
    parser.close()
    parser.finish()
    return collapse_whitespace("".join(parser.parts))


def _paragraphs_only(fragment: str) -> str | None:
    """The text of a fragment whose only markup is ``<p>``, ``</p>`` and ``<br>`` (most short
    posts), without running the parser: the same text as :class:`_TextParser` gives (a paragraph
    opens and closes with a line break, a ``</p>`` with no open paragraph is ignored, so is the
    end of one left open); None for any other fragment."""
    if "&" in fragment:
        return None
    pieces = _SIMPLE_TAG.split(fragment)  # text, tag, text, tag, ..., text
    parts: list[str] = []
    open_paragraphs = 0
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            if "<" in piece:
                return None  # another tag (or a bare "<"): the parser decides
            parts.append(piece.replace("\r", " ").replace("\n", " "))
        elif piece == "</p>":
            if open_paragraphs:
                open_paragraphs -= 1
                parts.append("\n")
        else:
            open_paragraphs += piece == "<p>"
            parts.append("\n")
    return collapse_whitespace("".join(parts))


class _TextParser(HTMLParser):
    """Collects the text of a fragment as it is parsed (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self._open: list[str] = []        # open element names, outermost first
        self._dropping = 0                # open elements whose content is dropped
        self._void_closed: list[str] = []  # void elements opened without ``/>``: their end tag is ignored

    # -- elements --------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag)
        if tag in _VOID_TAGS:
            self._pop_to(tag)
            self._void_closed.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag)
        self._pop_to(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._void_closed:
            self._void_closed.remove(tag)
        else:
            self._pop_to(tag)

    def finish(self) -> None:
        """Close what is still open, as the end of the document does."""
        while self._open:
            self._close(self._open.pop())

    def _start(self, tag: str) -> None:
        self._open.append(tag)
        if self._dropping or tag in _DROP_TAGS:
            self._dropping += tag in _DROP_TAGS
        elif tag == "br" or tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def _pop_to(self, tag: str) -> None:
        if tag not in self._open:
            return  # a stray end tag closes nothing
        while True:
            name = self._open.pop()
            self._close(name)
            if name == tag:
                return

    def _close(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self._dropping -= 1
        elif not self._dropping and tag in _BLOCK_TAGS:
            self.parts.append("\n")

    # -- text ------------------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        # A line break in HTML source is just whitespace; only <br> and blocks break lines.
        if not self._dropping:
            self.parts.append(data.replace("\r", " ").replace("\n", " "))

    def handle_entityref(self, name: str) -> None:
        self.handle_data(_ENTITIES.get(name, f"&{name}"))  # an unknown name stays literal

    def handle_charref(self, name: str) -> None:
        hexadecimal = name[:1] in ("x", "X")
        digits = name[1:] if hexadecimal else name
        base = 16 if hexadecimal else 10
        extra = ""
        try:
            code: int | None = int(digits, base)
        except ValueError:  # digits followed by text that is not part of the reference
            match = (_HEX_PREFIX if hexadecimal else _DECIMAL_PREFIX).search(digits)
            code, extra = (int(match.group(1), base), match.group(2)) if match else (None, digits)
        if code is not None:
            self.handle_data(UnicodeDammit.numeric_character_reference(code)[0])
        self.handle_data(extra)

    # declarations, CDATA and processing instructions count as text; comments do not
    def handle_comment(self, data: str) -> None:
        pass

    def handle_decl(self, decl: str) -> None:
        self.handle_data(decl[len("DOCTYPE "):])

    def unknown_decl(self, data: str) -> None:
        self.handle_data(data[len("CDATA["):] if data.upper().startswith("CDATA[") else data)

    def handle_pi(self, data: str) -> None:
        self.handle_data(data)
