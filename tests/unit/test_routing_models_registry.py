"""skops persistence: round trip, metadata side file, and refusal of untrusted types."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio  # type: ignore[import-untyped]  # skops ships no type hints
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]  # sklearn ships no type hints
from sklearn.preprocessing import FunctionTransformer  # type: ignore[import-untyped]  # sklearn ships no type hints

from routing_models.data import SEED_PATH, load_jsonl
from routing_models.model import Classifier
from routing_models.registry import (
    TRUSTED_TYPES,
    UntrustedArtifactError,
    default_artifact_path,
    load,
    load_metadata,
    save,
)
from routing_models.train import train


@pytest.fixture(scope="module")
def small_clf() -> Classifier:
    rows = load_jsonl(SEED_PATH)[::4]
    return train(rows, seed=0, params={"calibration_folds": 3})


def test_round_trip_same_predictions(small_clf: Classifier, tmp_path: Path) -> None:
    """save() then load() gives a classifier with the same version, metadata and probabilities."""
    path = save(small_clf, tmp_path)
    assert path == tmp_path / f"{small_clf.version}.skops"
    assert path.with_suffix(".json").exists()
    loaded = load(path)
    assert loaded.version == small_clf.version
    assert loaded.labels == small_clf.labels
    assert loaded.metadata == json.loads(json.dumps(small_clf.metadata))
    assert load_metadata(path)["version"] == small_clf.version
    texts = ["my order never arrived", "siamo alla ricerca di un contabile", "CEO quits"]
    assert np.array_equal(loaded.predict_proba(texts), small_clf.predict_proba(texts))
    assert loaded.explain(texts[0]) == small_clf.explain(texts[0])


def test_artifact_contains_no_pickle(small_clf: Classifier, tmp_path: Path) -> None:
    """The .skops artifact is a zip of JSON/npy entries (no pickled objects)."""
    path = save(small_clf, tmp_path, name="x")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        json.loads(zf.read("schema.json"))
    assert all(n == "schema.json" or n.endswith(".npy") or n.endswith(".npz") for n in names), names
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_TYPES)


def test_load_refuses_untrusted_types(tmp_path: Path) -> None:
    """load() refuses an artifact holding a type outside the allow-list (here os.system)."""
    evil = Pipeline([("f", FunctionTransformer(func=os.system))])
    path = tmp_path / "evil.skops"
    sio.dump({"format_version": 1, "pipeline": evil, "metadata_json": "{}"}, path)
    assert "posix.system" in sio.get_untrusted_types(file=path) or "os.system" in str(
        sio.get_untrusted_types(file=path)
    )
    with pytest.raises(UntrustedArtifactError, match="system"):
        load(path)


def test_load_rejects_foreign_payload(tmp_path: Path) -> None:
    """load() rejects a skops file that is not a routing_models artifact."""
    path = tmp_path / "other.skops"
    sio.dump([1, 2, 3], path)
    with pytest.raises(ValueError, match="not a routing_models artifact"):
        load(path)


def test_default_artifact_path_location() -> None:
    """default_artifact_path() is routing_models/artifacts/default.skops."""
    path = default_artifact_path()
    assert path.name == "default.skops"
    assert path.parent.name == "artifacts" and path.parent.parent.name == "routing_models"


def test_default_artifact_loads_and_is_consistent() -> None:
    """The bundled default artifact loads with the allow-list and matches its .json metadata."""
    path = default_artifact_path()
    clf = load(path)
    meta = load_metadata(path)
    assert clf.version == meta["version"]
    assert clf.labels == ["customer_care", "hr", "marketing", "pr"]
    assert path.stat().st_size < 25_000_000
    pred = clf.predict(["@ShopCo my parcel never arrived, can you check the order?"])[0]
    assert pred.label == "customer_care"
