"""Agent corrections: ~30 corrected mentions of a new topic flip that topic after retraining."""

from __future__ import annotations

import random
from typing import Any

import pytest

from routing_models.data import SEED_PATH, load_jsonl
from routing_models.model import Classifier
from routing_models.train import sample_weights, train

# A new routing policy: questions about loyalty-points expiry belong to customer care (the loyalty
# desk sits there), but they read like pre-sale / promo chatter, so the base model says marketing.
_CORRECTION_TEMPLATES = [
    "Do my {prog} points expire at the end of the year? I have {n} saved up",
    "How long are {prog} reward points valid for? Planning to use my {n} points in {month}",
    "Quick question: will the {n} {prog} points I earned in the {promo} expire?",
    "Is there a deadline to redeem {prog} points? Got {n} from the {promo}",
    "When do {prog} loyalty points expire? Want to spend my {n} points on the new collection",
    "I punti {prog} scadono a fine anno? Ne ho accumulati {n}",
    "Fino a quando sono validi i punti {prog}? Vorrei usarli a {mese}",
    "Domanda: i {n} punti {prog} della {promo_it} hanno una scadenza?",
    "Entro quando vanno usati i punti {prog}? Ne ho {n} dalla {promo_it}",
]
# Held-out phrasings (different templates) of the same topic.
_HELD_OUT_TEMPLATES = [
    "Hey {brand}, what happens to my {prog} points if I don't shop for a few months? Do they expire?",
    "Can {prog} points be extended before they expire? Sitting on {n} of them",
    "Ciao {brand}, i punti {prog} si perdono se non faccio acquisti per qualche mese?",
    "C'è una data di scadenza per i punti {prog}? Ne ho {n} e non vorrei perderli",
]
_FILLERS = {
    "prog": ["Club", "Gold Rewards", "StarCard", "Fidelity+", "Plus"],
    "n": ["500", "1,200", "3000", "4.500"],
    "month": ["June", "December", "the holidays"],
    "mese": ["giugno", "dicembre", "Natale"],
    "promo": ["summer promo", "Black Friday offer", "double points week"],
    "promo_it": ["promo estiva", "offerta Black Friday", "settimana punti doppi"],
    "brand": ["@ShopCo", "@Modaria", "@CasaPiu"],
}
_UNRELATED = {
    "ShopCo shares slump 12% after profit warning; CEO to step down": "pr",
    "Cerchiamo addetto/a vendite part-time per il nostro negozio di Verona, invia il CV": "hr",
    "@ShopCo my parcel is two weeks late and the tracking link is dead": "customer_care",
}


def _fill(template: str, rng: random.Random) -> str:
    return template.format(**{key: rng.choice(values) for key, values in _FILLERS.items()})


@pytest.fixture(scope="module")
def topic() -> tuple[list[str], list[str]]:
    rng = random.Random(0)
    corrections = [_fill(t, rng) for t in _CORRECTION_TEMPLATES for _ in range(4)][:30]
    held_out = [_fill(t, rng) for t in _HELD_OUT_TEMPLATES for _ in range(5)]
    return corrections, held_out


@pytest.fixture(scope="module")
def seed_rows() -> list[dict[str, Any]]:
    return load_jsonl(SEED_PATH)


@pytest.fixture(scope="module")
def base(seed_rows: list[dict[str, Any]]) -> Classifier:
    return train(seed_rows, seed=0)


def _share(clf: Classifier, texts: list[str], label: str) -> float:
    return sum(p.label == label for p in clf.predict(texts)) / len(texts)


def test_base_model_gets_the_topic_wrong(base: Classifier, topic: tuple[list[str], list[str]]) -> None:
    """Precondition: without corrections the topic is (mostly) not routed to customer_care: at most a
    fifth of the held-out phrasings and under a third of the correction phrasings (8 of 30 since the
    seed's rows of 2026-12-06 and 2026-12-07, which added customer questions, Italian ones among them;
    the held-out share is the one the flip is judged on)."""
    corrections, held_out = topic
    assert _share(base, held_out, "customer_care") <= 0.2
    assert _share(base, corrections, "customer_care") <= 0.3


def test_thirty_corrections_flip_the_topic(
    base: Classifier, seed_rows: list[dict[str, Any]], topic: tuple[list[str], list[str]]
) -> None:
    """After 30 corrections (3x weight) the retrained model routes held-out topic mentions to customer_care."""
    corrections, held_out = topic
    assert len(corrections) == 30 and not set(corrections) & set(held_out)
    rows = seed_rows + [{"text": t, "label": "customer_care", "source": "correction"} for t in corrections]
    assert sample_weights(rows)[-1] == pytest.approx(3.0)
    retrained = train(rows, seed=0)
    assert retrained.metadata["n_corrections"] == 30
    assert retrained.version != base.version
    assert _share(retrained, held_out, "customer_care") >= 0.8
    # unrelated mentions keep their department
    assert [p.label for p in retrained.predict(list(_UNRELATED))] == list(_UNRELATED.values())
