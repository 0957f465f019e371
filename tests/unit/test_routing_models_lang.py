"""Language detection: short English and Italian mentions written for this test (held out from every
corpus and seed file), texts without enough letters, and the corpus's language tags."""

from __future__ import annotations

import json

import pytest

from routing_models import lang
from tests.conftest import shared_dir

# short mentions of the kinds that a byte n-gram detector tagged as Spanish, Dutch or Portuguese
ENGLISH = [
    "Good perks, decent pay",
    "Kettle caught fire tonight",
    "Refund still pending",
    "Love the new colours!",
    "Worst update ever",
    "Order arrived broken",
    "Great team, poor management",
    "Stock down 4% after earnings",
    "Hiring interns in Turin",
    "Where is my parcel?",
    "Battery drains so fast",
    "CEO resigns amid probe",
    "App keeps crashing on login",
    "Thanks, sorted now",
]
ITALIAN = [
    "Ordine mai arrivato",
    "Pessimo servizio clienti",
    "Prodotto pericoloso, si è incendiato",
    "Cerchiamo stagisti a Torino",
    "Rimborso ancora in attesa",
    "Bellissima la nuova collezione",
    "Il bollitore è esploso",
    "Nessuno risponde al telefono",
    "Azioni in calo dopo i conti",
    "Quando riaprite il negozio?",
    "Ottimo ambiente di lavoro",
    "App bloccata da ieri sera",
    "Grazie, tutto risolto",
    "Richiamo del lotto 42, intossicazione",
]


@pytest.mark.parametrize(("texts", "code"), [(ENGLISH, "en"), (ITALIAN, "it")])
def test_short_mentions(texts: list[str], code: str) -> None:
    """Every short held-out mention gets its language, one at a time and in one batch."""
    assert [lang.detect_language(t) for t in texts] == [code] * len(texts)
    assert lang.detect_languages(texts) == [code] * len(texts)


def test_handles_links_and_hashtags_are_not_read() -> None:
    """Links, @handles and #hashtags don't count: what is left decides, or nothing does."""
    assert lang.detect_language("@VodafoneIT #fail https://t.co/abc non funziona niente da lunedì") == "it"
    assert lang.detect_language("https://t.co/x 12345 @user #acme") is None
    assert lang.detect_languages(["", "ab", "123 !!", "😡😡😡"]) == [None, None, None, None]


def test_shouting_and_line_breaks() -> None:
    assert lang.detect_language("MY ORDER NEVER ARRIVED\nAND NOBODY ANSWERS") == "en"
    assert lang.detect_language("IL MIO ORDINE NON È MAI ARRIVATO\nE NESSUNO RISPONDE") == "it"


def test_answers_stay_among_the_languages() -> None:
    """A language outside :data:`lang.LANGUAGES` is never answered (Japanese, Russian)."""
    got = lang.detect_languages(["日本語のテキストです、よろしくお願いします", "Привет, как у вас дела сегодня?"])
    assert all(code is None or code in lang.LANGUAGES for code in got)
    assert lang.detect_language("Bonjour, ma commande n'est jamais arrivée") == "fr"
    assert lang.detect_language("Hola, mi pedido nunca llegó a casa") == "es"


@pytest.mark.parametrize("name", ["dev", "dev_crosssource"])
def test_corpus_tags(name: str) -> None:
    """≥ 98% of the English and Italian rows of dev and dev_crosssource get their tagged language."""
    path = shared_dir("data/mentions") / f"{name}.jsonl"
    rows = [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r.get("lang") in ("en", "it")]
    got = lang.detect_languages([r["text"] for r in rows])
    right = sum(g == r["lang"] for g, r in zip(got, rows, strict=True))
    assert right / len(rows) >= 0.98, right / len(rows)
