"""The README's leave-one-source-out table is the bundled model's, and the section rewriter."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from routing_models.registry import default_artifact_path
from routing_models.report import END, START, loso_markdown, replace_section

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_table_is_the_bundled_models() -> None:
    loso = json.loads(default_artifact_path().with_suffix(".json").read_text(encoding="utf-8"))["loso"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(START) + len(START):readme.index(END)]
    assert section.strip() == loso_markdown(loso).strip()
    # one row per held-out family, plus the header, the rule and the pooled row
    assert len(section.strip().splitlines()) == len(loso["per_source"]) + 3


def test_table_rows_largest_family_first_with_refined_columns() -> None:
    loso = {"per_source": {"b": {"n": 5, "labels": {"hr": 5}, "accuracy": 0.8, "macro_f1": 0.4},
                           "a": {"n": 9, "labels": {"pr": 4, "hr": 5}, "accuracy": 0.5, "macro_f1": 0.5}},
            "pooled": {"n": 14, "accuracy": 0.6, "macro_f1": 0.45},
            "refined": {"per_source": {"a": {"accuracy": 0.6, "macro_f1": 0.55}},
                        "pooled": {"accuracy": 0.7, "macro_f1": 0.5}}}
    rows = loso_markdown(loso).splitlines()
    assert rows[2] == "| `a` | 9 | pr 4, hr 5 | 0.500 | 0.500 | 0.600 | 0.550 |"
    assert rows[3] == "| `b` | 5 | hr 5 | 0.800 | 0.400 | | |"
    assert rows[4] == "| all families pooled | 14 | | 0.600 | 0.450 | 0.700 | 0.500 |"
    del loso["refined"]
    assert loso_markdown(loso).splitlines()[0].count("|") == 6


def test_replace_section_keeps_the_rest_and_needs_both_markers() -> None:
    text = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_section(text, "new\n") == f"intro\n{START}\nnew\n{END}\noutro\n"
    with pytest.raises(ValueError):
        replace_section("no markers", "x\n")
