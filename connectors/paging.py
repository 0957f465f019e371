"""Pagination strategies: small objects that say which page to ask for next.

Each strategy starts at the first page, is told what the page said (:meth:`advance`), and
answers :meth:`params` for the next request until :attr:`done`. They all

* stop after ``max_pages`` pages and set ``capped`` (the caller reports a truncated run);
* refuse a token that repeats (a server looping on one page) with :class:`PayloadError`, so the
  caller keeps its old cursor instead of silently skipping items.
"""
from __future__ import annotations

from typing import Protocol

from .errors import PayloadError

__all__ = ["Paginator", "TokenPaginator", "PageNumberPaginator", "MinIdPaginator", "id_key"]


def id_key(value: str) -> tuple[int, int | str]:
    """Sort key for platform ids: decimal ids as integers ("9" < "10"), others by length then text
    (fixed-width flake ids such as Pleroma's sort that way)."""
    text = str(value)
    if text.isdigit():
        return (0, int(text))
    return (1, f"{len(text):04d}{text}")


class Paginator(Protocol):
    """A page walk: ``params()`` for the next request, ``advance(...)`` after each page."""

    pages: int
    done: bool
    capped: bool

    def params(self) -> dict[str, str]:
        """Query parameters selecting the next page (empty for the first page)."""
        ...


class _Base:
    def __init__(self, max_pages: int) -> None:
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self.max_pages = max_pages
        self.pages = 0
        self.done = False
        self.capped = False

    def _count_page(self) -> bool:
        """Count one parsed page; return False (and mark capped) when the cap is reached."""
        self.pages += 1
        if self.pages >= self.max_pages:
            self.done = True
            self.capped = True
            return False
        return True


class TokenPaginator(_Base):
    """Opaque continuation token: Bluesky ``cursor``, X ``next_token``, YouTube ``pageToken``."""

    def __init__(self, param: str, *, max_pages: int) -> None:
        super().__init__(max_pages)
        self.param = param
        self.token: str | None = None
        self._seen: set[str] = set()

    def params(self) -> dict[str, str]:
        return {self.param: self.token} if self.token else {}

    def advance(self, next_token: str | None) -> None:
        """Record the token the page returned; ``None``/empty ends the walk."""
        if not next_token:
            self.pages += 1
            self.done = True
            return
        if not self._count_page():
            return
        if next_token in self._seen or next_token == self.token:
            raise PayloadError(f"repeated page token {next_token!r} for {self.param}")
        self._seen.add(next_token)
        self.token = next_token


class PageNumberPaginator(_Base):
    """Numbered pages from ``start`` (Algolia ``page``/``nbPages``)."""

    def __init__(self, param: str = "page", *, max_pages: int, start: int = 0) -> None:
        super().__init__(max_pages)
        self.param = param
        self.page = start

    def params(self) -> dict[str, str]:
        return {self.param: str(self.page)}

    def advance(self, page: int | None, nb_pages: int | None) -> None:
        """Record the page number the server echoed and the total page count."""
        if nb_pages is None or self.page + 1 >= nb_pages:
            self.pages += 1
            self.done = True
            return
        if page is not None and page != self.page:
            raise PayloadError(f"asked for page {self.page}, got page {page}")
        if self._count_page():
            self.page += 1


class MinIdPaginator(_Base):
    """Mastodon ``min_id`` walk: each page's largest id (compared as integers) is the next anchor."""

    def __init__(self, param: str = "min_id", *, max_pages: int, start: str | None) -> None:
        super().__init__(max_pages)
        self.param = param
        self.anchor = start

    def params(self) -> dict[str, str]:
        return {self.param: self.anchor} if self.anchor else {}

    def advance(self, ids: list[str]) -> None:
        """Record the ids on the page; an empty page ends the walk."""
        if not ids:
            self.pages += 1
            self.done = True
            return
        newest = max(ids, key=id_key)
        if self.anchor is not None and id_key(newest) <= id_key(self.anchor):
            raise PayloadError(f"{self.param} page did not advance past {self.anchor}")
        self.anchor = newest
        self._count_page()
