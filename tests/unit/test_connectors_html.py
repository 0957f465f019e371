"""HTML fragments become plain text with a real parser."""
from __future__ import annotations

from connectors.html import html_to_text


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
