"""Near-duplicate grouping for crisis detection: copies, reposts and light edits group together (EN and
IT); unrelated texts do not; equal cluster keys join; it stays fast on a busy hour."""
from __future__ import annotations

import random
import string

from inbox.domain.near_duplicates import cluster_key, near_duplicate_groups

BASE_EN = "@acme your app update deleted all my photos and support does nothing, this is a disgrace"
BASE_IT = "@acme il vostro aggiornamento ha cancellato tutte le mie foto e l'assistenza non risponde, vergogna"


def test_copies_reposts_and_edits_group() -> None:
    """RT prefixes, links, handles, case, punctuation and a changed word still group; other texts don't."""
    texts = [BASE_EN, f"RT @bob: {BASE_EN}", BASE_EN.upper() + "!!!", BASE_EN + " https://t.co/xyz",
             BASE_EN.replace("photos", "pictures"), BASE_EN + " #acmefail #boycott",
             BASE_IT, BASE_IT.replace("foto", "fotografie"), f"RT @anna: {BASE_IT}",
             "I love the new espresso machine from acme, great coffee every single morning",
             "acme is hiring backend engineers in Milan, apply on the careers page today"]
    groups = near_duplicate_groups(texts)
    assert sorted(map(sorted, groups[:2])) == [[0, 1, 2, 3, 4, 5], [6, 7, 8]]
    assert sorted(len(g) for g in groups) == [1, 1, 3, 6]


def test_unrelated_texts_on_one_topic_do_not_group() -> None:
    """Different complaints about the same product are separate stories."""
    texts = ["the acme app crashes when I open the camera on my pixel phone",
             "acme app keeps logging me out every single morning, annoying",
             "why does the acme app need my location to show a receipt",
             "acme app dark mode is broken since the last update on ios"]
    assert all(len(g) == 1 for g in near_duplicate_groups(texts))


def test_equal_cluster_keys_join() -> None:
    """Texts with the same stored cluster_key are one group even when the shingles differ."""
    texts = ["alpha beta gamma delta epsilon", "zeta eta theta iota kappa"]
    assert near_duplicate_groups(texts, keys=["k", "k"]) == [[0, 1]]
    assert cluster_key(BASE_EN) == cluster_key(f"RT @x: {BASE_EN} https://t.co/1")
    assert cluster_key("too short") is None


def test_a_busy_hour_groups_the_storm_and_nothing_else() -> None:
    """Five thousand unrelated texts plus a storm of 200 copies: the copies are one group, every other
    text is alone (speed is measured in bench/, not asserted here)."""
    rng = random.Random(1)
    noise = [" ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(6)) for _ in range(12))
             for _ in range(5000)]
    storm = [f"{BASE_EN} {'!' * (i % 3)}" for i in range(200)]
    groups = near_duplicate_groups(noise + storm)
    assert len(groups[0]) == 200 and len(groups) == 5001


def test_copy_key_keeps_numbers_and_keys_computes_both_at_once() -> None:
    from inbox.domain.near_duplicates import copy_key, keys, same_post
    a = "RT @shop: my order 4711 never arrived, refund please https://t.co/1"
    b = "my order 4711 never arrived, refund please!"
    other = "my order 4712 never arrived, refund please"
    assert copy_key(a) == copy_key(b) != copy_key(other) and same_post(a, b) and not same_post(a, other)
    assert cluster_key(a) == cluster_key(other)  # one story for crisis counting
    for t in (a, other, "Il mio ordine n° 123 non è arrivato, perché? Rimborso 45€", "too short", "x1 y2 z3 w4 v5 u6"):
        assert keys(t) == (cluster_key(t), copy_key(t)), t


def test_ascii_fast_paths_equal_the_regexes() -> None:
    """Keys of ASCII text are computed with byte translations; they give what the regexes give."""
    import re

    from inbox.domain import near_duplicates as nd

    texts = ["RT @acme: Order 12345 broke!!! see https://x.y/z -- (again) ...",
             "a_b c-d e.f g,h i;j k:l m'n o\"p q`r s~t u|v w^x y#z 007",
             "".join(map(chr, range(128))), "no digits here at all, none", "٣ ٤ ٥ ² one two three"]
    for text in texts:
        if text.isascii():
            lowered = nd._HANDLE.sub(" ", nd._URL.sub(" ", nd._RT.sub("", text.lower())))
            assert nd._norm(text, digits=True) == " ".join(nd._NONWORD.sub(" ", lowered).split())
        assert nd._fold_digits(text) == re.sub(r"\d+", "0", text)
