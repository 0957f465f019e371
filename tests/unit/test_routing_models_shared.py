"""Acceptance checks of the bundled default model against the shared corpus (../shared next to the repo).

Skipped locally when the shared folder is absent; under ``CI=true`` a missing folder is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def test_default_model_in_source_dev(shared_dir: Path, default_clf: Classifier) -> None:
    """dev.jsonl (in-source) macro-F1 is at least 0.93."""
    result = evaluate(default_clf, load_jsonl(shared_dir / "dev.jsonl"))
    assert result["macro_f1"] >= 0.93, result["macro_f1"]
    assert result["macro_f1"] > result["dummy"]["macro_f1"]


def test_default_model_cross_source(shared_dir: Path, default_clf: Classifier) -> None:
    """dev_crosssource (unseen sources) macro-F1 is at least 0.80 and its ECE at most 0.05."""
    result = evaluate(default_clf, load_jsonl(shared_dir / "dev_crosssource.jsonl"))
    assert result["macro_f1"] >= 0.80, result["macro_f1"]
    assert result["ece"] <= 0.05, result["ece"]


@pytest.mark.xfail(strict=True, reason="acceptance target 0.75 not met yet: 0.735 on 72 Italian rows (docs/classifier.md)")
def test_default_model_cross_source_italian(shared_dir: Path, default_clf: Classifier) -> None:
    """dev_crosssource Italian rows reach macro-F1 0.75 (known gap: strict xfail flags when it is met)."""
    result = evaluate(default_clf, load_jsonl(shared_dir / "dev_crosssource.jsonl"))
    assert result["per_lang"]["it"]["macro_f1"] >= 0.75, result["per_lang"]["it"]
