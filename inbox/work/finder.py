"""Finding items: a search box's text and filters to one ranked page of what the caller may see,
with escaped, highlighted snippets and the cursor of the next page (API, search page and CLI)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox.domain import search_query
from inbox.errors import Invalid
from inbox.storage.read_units import ReadUnits
from inbox.storage.repo import search as search_repo
from inbox.storage.repo.search import SearchFilters
from inbox.storage.tables import ItemStatus

__all__ = ["Page", "find", "statuses_of", "SearchFilters"]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]   # ItemSummary.public() with "score" and "snippet" (HTML or None)
    next_cursor: str | None


def statuses_of(spec: str) -> tuple[str, ...] | None:
    """'open', 'closed' (resolved, spam), 'all' (None) or a comma-separated list of statuses."""
    out: list[str] = []
    for part in spec.split(","):
        if part == "all":
            return None
        out.extend(ItemStatus.OPEN if part == "open" else ("resolved", "spam") if part == "closed" else (part,))
    bad = [s for s in out if s not in ItemStatus.ALL]
    if bad:
        raise Invalid(f"unknown status {bad[0]!r}")
    return tuple(dict.fromkeys(out))


async def find(reads: ReadUnits, q: str, filters: SearchFilters, *, limit: int = 20,
               cursor: str | None = None) -> Page:
    """One page of the items matching ``q`` under ``filters`` (whose ``teams`` is what the caller
    may see), best first; ``cursor`` is a previous page's ``next_cursor``."""
    after = None
    if cursor:
        try:
            after = search_query.decode_cursor(cursor)
        except ValueError:
            raise Invalid("cursor is not a next_cursor of a search") from None
    terms = search_query.parse(q)
    page = await reads.run(search_repo.find_page_sync, terms, filters, limit=limit + 1, after=after)
    hits = page.hits
    more = len(hits) > limit
    hits = hits[:limit]
    items = [{**h.item.public(), "score": h.score,
              "snippet": search_query.snippet_html(h.snippet, search_repo.HL_START, search_repo.HL_END)
              if h.snippet else None} for h in hits]
    nxt = search_query.encode_cursor(hits[-1].score, hits[-1].item.id, hits[-1].newest) if more and hits else None
    if not more and page.resume is not None:  # the page stopped at the walk's end: the rest is older
        nxt = search_query.encode_cursor(*page.resume)
    return Page(items, nxt)
