"""The words a set of mentions talk about most, for the brief's themes: lower-cased words of three
letters or more, without links, handles, numbers and English or Italian function words, counted
once per mention. Pure functions."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # type: ignore[import-untyped]  # no type hints

__all__ = ["top_keywords", "content_words", "STOP_WORDS"]

_ITALIAN = frozenset("""
a ad al alla alle allo agli ai anche ancora avere aveva abbiamo avete hanno ho hai ha che chi ci come con
contro cosa cui da dal dalla dalle dai degli dei del della delle dello dentro di dove due e ed era erano
essere fare fa fatto fino fra gli ha il in io la le lei li lo loro lui ma mai me mi mia mie miei mio molto
ne nei nel nella nelle nello noi non nostro nostra o ogni ora per perché però più poi proprio qua quale
quando quanto quella quelle quelli quello questa queste questi questo qui se sei senza si sia siamo siete
sono sopra sotto su sua sue sui sul sulla sulle suo suoi sta stato stata stati sto tra tu tua tue tuo tuoi
tutti tutto tutta tutte un una uno vi voi vostro già solo sempre ancora dopo prima oggi ieri domani
dell dall nell sull coll quell quest
""".split())  # the last line: elided forms ("dell'offerta" reads as "dell" and "offerta")
_EXTRA = frozenset({"http", "https", "www", "com", "amp", "just", "like", "get", "got", "really", "still", "will"})
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | _ITALIAN | _EXTRA
_NOISE = re.compile(r"https?://\S+|www\.\S+|(?<!\w)[@#][\w.]+")
_WORD = re.compile(r"[^\W\d_]{3,}")


def content_words(text: str, skip: frozenset[str] = STOP_WORDS) -> set[str]:
    """The distinct lower-cased content words of one text (what :func:`top_keywords` counts)."""
    return {w for w in _WORD.findall(_NOISE.sub(" ", text.lower())) if w not in skip}


def top_keywords(texts: Iterable[str], n: int = 8, *, ignore: Iterable[str] = ()) -> list[tuple[str, int]]:
    """The ``n`` most frequent content words as (word, mentions containing it), most frequent first,
    ties alphabetical; words in ``ignore`` (e.g. the brand's names) are left out."""
    skip = STOP_WORDS | {w.lower() for w in ignore}
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(content_words(text, skip))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
