"""Product-safety clusters: among the mentions a safety rule matched, the ones that name the same
product. Pure functions.

The product is a content word the mentions share (``"kettle"`` in "my Acme kettle exploded" and
"kettle caught fire"), with function words, the brand's names and the rule's own cue words left
out, so that the shared "exploded" or "Acme" never stands for a product.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from inbox.domain.keywords import STOP_WORDS, content_words, top_keywords
from inbox.domain.router import fold

__all__ = ["product_groups"]


def product_groups(texts: Sequence[str], *, min_count: int, ignore: Iterable[str] = ()) -> list[tuple[str, list[int]]]:
    """(product word, indices of ``texts`` naming it) for each word at least ``min_count`` of the
    texts share, most mentioned first; a text joins the first group it fits only."""
    skip = STOP_WORDS | frozenset(w for phrase in ignore for w in fold(phrase).split())
    words = [content_words(fold(t), skip) for t in texts]
    taken: set[int] = set()
    groups: list[tuple[str, list[int]]] = []
    for word, count in top_keywords([fold(t) for t in texts], n=20, ignore=skip):
        if count < min_count:
            break
        members = [i for i, ws in enumerate(words) if word in ws and i not in taken]
        if len(members) >= min_count:
            groups.append((word, members))
            taken.update(members)
    return groups
