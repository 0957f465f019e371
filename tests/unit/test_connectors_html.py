"""HTML fragments become plain text with a real parser."""
from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup
from bs4.element import Comment, NavigableString, Tag
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.html import collapse_whitespace, html_to_text
from tests.conftest import ROOT


def test_paragraphs_and_breaks_become_newlines() -> None:
    """<p> and <br> turn into line breaks; source newlines are just spaces."""
    assert html_to_text("<p>one\n two</p><p>three<br>four</p>") == "one two\nthree\nfour"


def test_mastodon_split_link_is_joined() -> None:
    """Invisible and ellipsis spans are joined back into the full URL text."""
    html = ('<p>see <a href="https://www.example.com/long/path"><span class="invisible">https://www.</span>'
            '<span class="ellipsis">example.com/lo</span><span class="invisible">ng/path</span></a> now</p>')
    assert html_to_text(html) == "see https://www.example.com/long/path now"


def test_entities_decoded_and_whitespace_collapsed() -> None:
    """Entities are decoded (including &nbsp; and numeric ones) and runs of spaces collapse."""
    assert html_to_text("Apple&#x2F;AMD&nbsp;&nbsp; can&#x27;t   &amp; won&#39;t") == "Apple/AMD can't & won't"


def test_scripts_and_comments_dropped() -> None:
    """Script, style and comments never reach the text."""
    assert html_to_text("<style>p{}</style><p>ok<!-- hidden --></p><script>alert(1)</script>") == "ok"


def test_empty_and_plain_text() -> None:
    """None/empty give '' and plain text passes through."""
    assert html_to_text(None) == "" and html_to_text("") == ""
    assert html_to_text("just text") == "just text"


# -- the streaming parser gives the text of the tree BeautifulSoup builds ----------------------
_BLOCK = {"p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
          "tr", "table", "section", "article", "header", "footer", "dd", "dt"}
_DROP = {"script", "style", "template", "head", "noscript"}


def _tree_text(fragment: str) -> str:
    """The reference: walk the tree BeautifulSoup builds over ``html.parser``."""
    parts: list[str] = []

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                parts.append(str(child).replace("\r", " ").replace("\n", " "))
                continue
            if not isinstance(child, Tag) or child.name.lower() in _DROP:
                continue
            if child.name.lower() == "br":
                parts.append("\n")
                continue
            block = child.name.lower() in _BLOCK
            parts.append("\n" if block else "")
            walk(child)
            parts.append("\n" if block else "")

    walk(BeautifulSoup(fragment, "html.parser"))
    return collapse_whitespace("".join(parts))


_PIECES = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<br>", "<br/>", "</br>", "<p/>", "<span class=\"invisible\">", "</span>",
    "<a href=\"https://x.example/?a=1&amp;b=2\">", "</a>", "<script>", "</script>", "<style>", "</style>",
    "<noscript>", "</noscript>", "<li>", "</li>", "<ul>", "</ul>", "<pre>", "</pre>", "<img src=x>", "</img>",
    "<hr>", "<!-- c -->", "<!DOCTYPE html>", "<![CDATA[x<y]]>", "<?pi x?>", "&amp;", "&nbsp;", "&#x27;",
    "&#39;", "&#128512;", "&#0;", "&#xD800;", "&unknown;", "&amp", "&notit;", "&", "<", ">", " < b", "\n",
    "\r\n", "\t", "  ", "\u00a0", "Lumetta", "text", "caf\u00e9", "https://www.", "<b>", "</b>", "</i>",
    "<h1>", "</h1>", "<table><tr><td>", "</td></tr></table>", "<template>", "</template>", "<P>", "</DIV>",
    "<textarea>", "</textarea>", "<rt>", "</script >", "<a title='>'>", "<!doctype x>", "<!>", "</>", "<a",
    "&#x1F600", "&#12a;", "&#x;", "&#99999999;", "&lt", "&gt;&lt;", "<head>", "</head>", "<p class=x/>",
])


@pytest.mark.filterwarnings("ignore::bs4.MarkupResemblesLocatorWarning")
@given(st.lists(_PIECES, max_size=24).map("".join))
@settings(max_examples=400, deadline=None)
def test_streaming_text_matches_beautifulsoup_tree(fragment: str) -> None:
    """Any mix of tags, entities, comments and stray end tags gives the same text as the tree walk."""
    assert html_to_text(fragment) == _tree_text(fragment)


@pytest.mark.filterwarnings("ignore::bs4.MarkupResemblesLocatorWarning")
def test_recorded_fragments_match_beautifulsoup_tree() -> None:
    """Every HTML fragment in the recorded payloads gives the same text as the tree walk."""
    fragments: list[str] = []

    def collect(o: object) -> None:
        if isinstance(o, dict):
            for v in o.values():
                collect(v)
        elif isinstance(o, list):
            for v in o:
                collect(v)
        elif isinstance(o, str) and ("<" in o or "&" in o):
            fragments.append(o)

    for root in (ROOT / "connectors" / "samples", ROOT.parent / "shared" / "fixtures"):
        for path in sorted(root.rglob("*.json")):
            try:
                collect(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, UnicodeDecodeError):
                continue
    assert len(fragments) > 50
    for fragment in fragments:
        assert html_to_text(fragment) == _tree_text(fragment), fragment[:200]
