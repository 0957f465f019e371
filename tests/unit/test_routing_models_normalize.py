"""Normalisation, language detection, data loading and package-boundary tests for routing_models."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from routing_models.data import SEED_PATH, load_jsonl, source_group
from routing_models.lang import detect_language, detect_languages
from routing_models.normalize import (
    EMOJI_TOKEN,
    REPLY_TOKEN,
    URL_TOKEN,
    USER_TOKEN,
    normalize,
    without_links_and_handles,
)

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "routing_models"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@AmericanAir my bag is LOST", f"{REPLY_TOKEN} my bag is lost"),
        ("Thanks to @Apple @user for this", f"thanks to {USER_TOKEN} {USER_TOKEN} for this"),
        ("see https://t.co/abc123 and www.example.com/x", f"see {URL_TOKEN} and {URL_TOKEN}"),
        ("order missing {link}", f"order missing {URL_TOKEN}"),
        ("#CustomerService #new_product_launch", "customer service new product launch"),
        ("Perché l’assistenza è così lenta?", "perche l'assistenza e cosi lenta?"),
        ("great phone 😍😍 :)", f"great phone {EMOJI_TOKEN} {EMOJI_TOKEN}"),
        ("I can't log in, it won't load", "i can not log in, it will not load"),
        ("Refund of €49.99 on 14/12", "refund of €00.00 on 00/00"),
        ("  many\n\tspaces  ", "many spaces"),
        ("WHY!!!!! so slow??? ...ok", "why! so slow? .ok"),
        ("&amp; AT&amp;T", "& at&t"),
        ("", ""),
    ],
)
def test_normalize_examples(raw: str, expected: str) -> None:
    """normalize() replaces handles/URLs/emoji, splits hashtags, folds accents and case, squeezes space."""
    assert normalize(raw) == expected


def test_normalize_is_idempotent_on_seed_corpus() -> None:
    """Normalising an already normalised text changes nothing (no artefact survives a first pass)."""
    for row in load_jsonl(SEED_PATH)[:400]:
        once = normalize(row["text"])
        assert normalize(once) == once, row["id"]


def test_detect_language_en_it() -> None:
    """detect_language tells English from Italian mentions and abstains on text without letters."""
    assert detect_language("@Vodafone my internet has been down since Monday, please help") == "en"
    assert detect_language("@VodafoneIT non ho linea da lunedì, nessuno risponde al numero verde") == "it"
    assert detect_language("https://t.co/x 12345 @user") is None
    assert detect_languages(["Cerchiamo uno sviluppatore Python a Milano", "We are hiring a Python developer"]) == [
        "it",
        "en",
    ]


def test_detect_language_matches_seed_labels() -> None:
    """On the seed corpus the detector agrees with the annotated language for ≥ 97% of rows."""
    rows = load_jsonl(SEED_PATH)
    agree = sum(detect_language(r["text"]) == r["lang"] for r in rows)
    assert agree / len(rows) >= 0.97


def test_load_jsonl_reports_file_and_line(tmp_path: Path) -> None:
    """load_jsonl names the file and line of the first invalid row."""
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"text": "ok", "label": "hr"}) + "\n\n" + json.dumps({"text": "x", "label": "sales"}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"bad\.jsonl:3: 'label'"):
        load_jsonl(path)
    path.write_text('{"text": "ok", "label": "hr"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: invalid JSON"):
        load_jsonl(path)
    path.write_text('{"text": "", "label": "hr"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: 'text'"):
        load_jsonl(path)


def test_seed_corpus_is_valid_and_balanced() -> None:
    """The bundled seed corpus loads, is half Italian, and has every label in both languages."""
    rows = load_jsonl(SEED_PATH)
    assert len(rows) >= 1200
    assert len({r["id"] for r in rows}) == len(rows)
    for lang in ("en", "it"):
        for label in ("customer_care", "hr", "marketing", "pr"):
            assert sum(r["lang"] == lang and r["label"] == label for r in rows) >= 100, (lang, label)
    assert all(source_group(r).startswith("seed:") for r in rows)


def test_source_group_families() -> None:
    """source_group strips commits/dataset names from shared sources and maps seed rows to their style."""
    assert source_group({"source": "a/b/c.csv @abc123 (Some dataset)"}) == "a/b/c.csv"
    assert source_group({"source": "a/b/c.csv (Some dataset)"}) == "a/b/c.csv"
    assert source_group({"source": "correction"}) == "correction"
    assert source_group({"style": "tweet"}) == "seed:tweet"
    assert source_group({}) == "unknown"


def test_package_never_imports_inbox_or_connectors() -> None:
    """No module of routing_models imports the inbox or connectors packages."""
    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"inbox", "connectors"}, f"{path}: imports {name}"


@pytest.mark.parametrize("text", [
    "@AmericanAir my flight https://t.co/x", ".@acme, @bob: see www.acme.com/x and {link}", "mail me: a@b.com",
    "bit.ly/abc t.co/x [link] <link>", "no links here",
])
def test_without_links_and_handles_removes_what_normalize_replaces(text: str) -> None:
    """The words left are normalize's words minus its link and handle placeholders (punctuation aside)."""
    placeholders = {URL_TOKEN, USER_TOKEN, REPLY_TOKEN}

    def words(t: str) -> list[str]:
        return [w for w in re.findall(r"[a-z0]+", normalize(t)) if w not in placeholders]

    stripped = without_links_and_handles(text)
    assert not placeholders & set(normalize(stripped).split())
    assert words(stripped) == words(text)
