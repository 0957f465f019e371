"""Pagination strategies refuse repeated tokens and cap pages."""
from __future__ import annotations

import pytest

from connectors.errors import PayloadError
from connectors.paging import MinIdPaginator, PageNumberPaginator, TokenPaginator, id_key


def test_token_paginator_follows_until_no_token() -> None:
    """Tokens are sent back until a page has none."""
    pager = TokenPaginator("cursor", max_pages=10)
    assert pager.params() == {}
    pager.advance("25")
    assert pager.params() == {"cursor": "25"} and not pager.done
    pager.advance(None)
    assert pager.done and not pager.capped and pager.pages == 2


def test_token_paginator_refuses_repeated_token() -> None:
    """A token seen before means the server loops: PayloadError."""
    pager = TokenPaginator("next_token", max_pages=10)
    pager.advance("a")
    pager.advance("b")
    with pytest.raises(PayloadError, match="repeated page token"):
        pager.advance("a")


def test_token_paginator_caps_pages() -> None:
    """After max_pages the walk stops and says it was capped."""
    pager = TokenPaginator("cursor", max_pages=2)
    pager.advance("1")
    pager.advance("2")
    assert pager.done and pager.capped


def test_page_numbers_stop_at_nb_pages() -> None:
    """Algolia pages go 0..nbPages-1."""
    pager = PageNumberPaginator(max_pages=10)
    seen = []
    while not pager.done:
        seen.append(pager.params()["page"])
        pager.advance(int(seen[-1]), 3)
    assert seen == ["0", "1", "2"]


def test_page_numbers_refuse_wrong_echo() -> None:
    """A server answering another page than asked is refused."""
    pager = PageNumberPaginator(max_pages=10)
    pager.advance(0, 5)
    with pytest.raises(PayloadError):
        pager.advance(0, 5)


def test_min_id_compares_as_integers() -> None:
    """"10" is newer than "9": ids compare as integers, and a page must move the anchor forward."""
    assert id_key("10") > id_key("9")
    pager = MinIdPaginator(max_pages=5, start="9")
    pager.advance(["10", "11"])
    assert pager.params() == {"min_id": "11"}
    with pytest.raises(PayloadError):
        pager.advance(["3"])


def test_min_id_empty_page_ends() -> None:
    """An empty page ends the min_id walk."""
    pager = MinIdPaginator(max_pages=5, start=None)
    pager.advance([])
    assert pager.done and not pager.capped
