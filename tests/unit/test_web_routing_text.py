"""The item page's routing sentence and history labels: numbers that never contradict the words,
and the reader's language."""
from __future__ import annotations

from typing import Any

import pytest

from inbox.domain.router import shown_below
from inbox.web import i18n
from inbox.web.feature_words import feature_phrases
from inbox.web.routing_text import event_label, routing_summary


@pytest.mark.parametrize(("value", "limit", "scale", "expected"), [
    (0.43, 0.5, 1.0, ("0.43", "0.50")),
    (0.497, 0.5, 1.0, ("0.497", "0.500")),      # at two digits it would read "0.50 is below 0.50"
    (0.4999, 0.5, 1.0, ("0.4999", "0.5000")),
    (0.497, 0.5, 100.0, ("49.70", "50.00")),
])
def test_shown_below_keeps_the_relation_true(value: float, limit: float, scale: float,
                                             expected: tuple[str, str]) -> None:
    assert shown_below(value, limit, scale=scale) == expected
    shown, bound = shown_below(value, limit, scale=scale)
    assert float(shown) < float(bound)


def _triage(confidence: float) -> dict[str, Any]:
    return {"label": "marketing", "confidence": confidence, "model_version": "m-1", "rule": None,
            "reason": "model m-1: marketing at 0.497 is below the confidence threshold 0.500: triage",
            "explanation": {"decided_by": "model", "triage": {"threshold": 0.5}}}


@pytest.fixture
def italian() -> Any:
    i18n.use_locale("it")
    yield
    i18n.use_locale("en")


def test_triage_sentence_in_english() -> None:
    i18n.use_locale("en")
    text = routing_summary(_triage(0.497))
    assert text == ("Model m-1: its best label, Marketing at 49.7%, is below the confidence threshold of 50.0%, "
                    "so the item went to triage.")


def test_triage_sentence_in_italian(italian: None) -> None:
    text = routing_summary(_triage(0.497))
    assert "sotto la soglia di confidenza del 50,0%" in text and "Marketing al 49,7%" in text


def test_model_and_rule_sentences(italian: None) -> None:
    model = {"label": "hr", "confidence": 0.91, "model_version": "m-2", "rule": None, "reason": "x",
             "explanation": {"decided_by": "model"}}
    assert routing_summary(model) == "Il modello m-2 lo ha etichettato Risorse umane con confidenza 91%."
    rule = {"label": "hr", "confidence": 0.91, "model_version": "m-2", "rule": "jobs,press", "reason": "x",
            "explanation": {"decided_by": "rule"}}
    assert routing_summary(rule) == "Arrivato qui per la regola di instradamento jobs, press."


def test_wordless_triage_sentence(italian: None) -> None:
    decision = {"label": "customer_care", "confidence": 1.0, "model_version": "m-3", "rule": None,
                "reason": "0 word(s) to classify, fewer than 1: triage (model m-3 would say customer_care)",
                "explanation": {"decided_by": "model", "triage": {"min_words": 1, "words": 0}}}
    assert routing_summary(decision) == ("La menzione non ha parole da classificare (solo handle, link, emoji o "
                                         "cifre), quindi è andata in triage.")
    i18n.use_locale("en")
    assert routing_summary(decision).startswith("The mention has no words to classify")


def test_decision_without_fields_shows_the_stored_reason(italian: None) -> None:
    assert routing_summary({"reason": "no model prediction: triage", "explanation": {"decided_by": "fallback"}}) \
        == "no model prediction: triage"
    assert routing_summary(None) == ""


def test_event_labels(italian: None) -> None:
    assert event_label("routed") == "instradato"
    assert event_label("lease_expired") == "presa in carico scaduta"
    assert event_label("something_new") == "something_new"


TEXT = "Il mio ordine 12 NON FUNZIONA, voglio un rimborso! Perché? https://x.example/a 😀"


@pytest.mark.parametrize(("name", "shown"), [
    ("w:non_funziona", "NON FUNZIONA"), ("w:ordine_00", "ordine 12"), ("w:perche", "Perché"),
    ("w:xurl", "a link"), ("w:xemoji", "an emoji"), ("c:_rimb", "rimborso"),
    ("lex:care_problem", "problem words: NON FUNZIONA"),
    ("lex:care_account", "order and account words: mio ordine, rimborso"),
])
def test_features_are_shown_as_the_mentions_words(name: str, shown: str) -> None:
    i18n.use_locale("en")
    assert feature_phrases([name], TEXT) == [shown]


@pytest.mark.parametrize("name", ["w:di_0", "lex:hr_job", "c:zzz", "odd", "lex:no_such_group", "w:refund"])
def test_features_not_in_the_mention_are_left_out(name: str) -> None:
    """Never an internal name: a feature the mention's words do not show is not listed."""
    assert feature_phrases([name], TEXT) == []


def test_feature_phrases_in_italian_and_without_repeats(italian: None) -> None:
    shown = feature_phrases(["lex:care_problem", "w:non_funziona", "w:non_funziona", "lex:care_problem_other_langs"],
                            TEXT)
    assert shown == ["parole di un problema: NON FUNZIONA", "NON FUNZIONA"]


def test_refined_decision_sentences(italian: None) -> None:
    """The background refiner's decisions say where the item was first and whether it moved."""
    moved = {"label": "marketing", "confidence": 0.8, "model_version": "m-3", "rule": None, "reason": "x",
             "team": "marketing",
             "explanation": {"decided_by": "model",
                             "refined": {"first": {"team": "customer_care", "label": "customer_care",
                                                   "confidence": 0.62}}}}
    assert routing_summary(moved) == ("Il modello m-3 lo ha etichettato Marketing con confidenza 80%. Una seconda "
                                      "lettura del modello con un codificatore di frasi l'ha spostato qui da "
                                      "Assistenza clienti.")
    i18n.use_locale("en")
    same = {**moved, "team": "customer_care", "label": "customer_care"}
    same["explanation"] = {**moved["explanation"]}
    assert routing_summary(same).endswith("A second look by the model with a sentence encoder confirmed this team.")
    assert event_label("rerouted") == "re-routed by the second look"
