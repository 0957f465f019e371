"""Saving and loading classifiers with skops (no pickle, no code execution on load).

An artifact is ``<name>.skops`` (a skops zip holding ``{"format_version", "pipeline",
"metadata_json"}`` and, for a model trained with an encoder, ``"refiner"``: the refiner head, a dict
of numbers and arrays) plus ``<name>.json`` (the same metadata, pretty-printed, for humans and
``model list``).  :func:`load` refuses any artifact that would need a type outside
:data:`TRUSTED_TYPES` beyond what skops trusts by default (numpy, scipy, scikit-learn
built-ins): we never pass ``trusted=True``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio  # type: ignore[import-untyped]  # skops ships no type hints

from routing_models.model import Classifier

__all__ = [
    "ARTIFACT_FORMAT_VERSION",
    "TRUSTED_TYPES",
    "UntrustedArtifactError",
    "default_artifact_path",
    "save",
    "load",
    "load_metadata",
]

ARTIFACT_FORMAT_VERSION = 1

#: The only types outside skops' default trust list that an artifact may contain (artifacts saved
#: before the pipeline was split into features and calibration name the classes under ``pipeline``).
TRUSTED_TYPES: tuple[str, ...] = (
    "routing_models.calibration.CalibratedLinearClassifier",
    "routing_models.features.MentionFeaturizer",
    "routing_models.features.TextNormalizer",
    "routing_models.pipeline.CalibratedLinearClassifier",
    "routing_models.pipeline.MentionFeaturizer",
    "routing_models.pipeline.TextNormalizer",
)

_ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


class UntrustedArtifactError(ValueError):
    """The artifact contains types that are not on the explicit allow-list."""


def default_artifact_path() -> Path:
    """``routing_models/artifacts/default.skops`` (metadata in ``default.json`` next to it)."""
    return _ARTIFACTS_DIR / "default.skops"


def save(clf: Classifier, directory: Path, *, name: str | None = None) -> Path:
    """Write ``<name or version>.skops`` and ``.json`` into ``directory``; return the ``.skops`` path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = name or clf.version
    path = directory / f"{stem}.skops"
    metadata_json = json.dumps(clf.metadata, sort_keys=True, ensure_ascii=False)
    payload = {
        "format_version": ARTIFACT_FORMAT_VERSION,
        "pipeline": clf.pipeline,
        "metadata_json": metadata_json,
    }
    if clf.refiner is not None:
        payload["refiner"] = clf.refiner
    tmp = path.with_suffix(".skops.tmp")
    sio.dump(payload, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    tmp.replace(path)
    path.with_suffix(".json").write_text(
        json.dumps(clf.metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def load(path: Path) -> Classifier:
    """Load a classifier saved by :func:`save`; raise :class:`UntrustedArtifactError` on foreign types."""
    path = Path(path)
    untrusted = sio.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise UntrustedArtifactError(f"{path}: refusing to load untrusted type(s): {', '.join(refused)}")
    payload: Any = sio.load(path, trusted=[t for t in untrusted if t in TRUSTED_TYPES])
    if not isinstance(payload, dict) or payload.get("format_version") != ARTIFACT_FORMAT_VERSION:
        raise ValueError(f"{path}: not a routing_models artifact (format_version {ARTIFACT_FORMAT_VERSION})")
    metadata = json.loads(payload["metadata_json"])
    refiner = payload.get("refiner")
    if refiner is not None and (not isinstance(refiner, dict) or refiner.get("format") != 1):
        raise ValueError(f"{path}: unknown refiner head format")
    return Classifier(payload["pipeline"], metadata, refiner=refiner)


def load_metadata(path: Path) -> dict[str, Any]:
    """Metadata of an artifact from its ``.json`` side file (cheap: does not load the model)."""
    result: dict[str, Any] = json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))
    return result
