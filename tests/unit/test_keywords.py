"""The brief's keywords (inbox.domain.keywords): function words and Italian elided forms left out."""
from __future__ import annotations

from inbox.domain.keywords import top_keywords


def test_italian_elisions_are_not_keywords() -> None:
    """"dell'offerta" counts "offerta", never "dell"; the brand's name is left out."""
    texts = ["Adoro il nuovo prezzo dell'offerta Acme", "Adoro l'offerta, nell'app e sull'ordine",
             "dall'ordine all'offerta"]
    words = dict(top_keywords(texts, 10, ignore=["Acme"]))
    assert words["offerta"] == 3 and words["adoro"] == 2
    assert not {"dell", "nell", "sull", "dall", "all", "acme"} & set(words)
