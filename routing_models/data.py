"""Loading and validating JSON Lines training/evaluation data; the bundled seed corpus."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = [
    "LABELS",
    "SEED_PATH",
    "SEED_PATHS",
    "MORE_LANGUAGES_SEED_PATH",
    "load_jsonl",
    "load_seed",
    "sha256_file",
    "source_group",
]

LABELS: tuple[str, ...] = ("customer_care", "hr", "marketing", "pr")
SEED_PATH: Path = Path(__file__).resolve().parent / "data" / "seed.jsonl"
#: Hand-written rows in Portuguese, Spanish, French and German (mentions that reach an Italian
#: firm in other languages); kept apart so that ``seed.jsonl`` stays the English/Italian corpus.
MORE_LANGUAGES_SEED_PATH: Path = SEED_PATH.with_name("seed_more_languages.jsonl")
#: Every bundled seed file, in training order.
SEED_PATHS: tuple[Path, ...] = (SEED_PATH, MORE_LANGUAGES_SEED_PATH)

_OPTIONAL_STR_FIELDS = ("id", "lang", "source", "style")


def load_jsonl(path: str | Path, *, require_label: bool = True) -> list[dict[str, Any]]:
    """Read a JSON Lines file of ``{"text", "label", ...}`` objects, validating every line.

    Blank lines are skipped.  Raises ``ValueError("<file>:<line>: <problem>")`` on invalid JSON,
    a non-object, a missing/empty ``text``, a missing or unknown ``label`` (when
    ``require_label``) or a non-string optional field (``id``, ``lang``, ``source``, ``style``).
    """
    p = Path(path)
    rows: list[dict[str, Any]] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{p}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: invalid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: 'text' must be a non-empty string")
            label = obj.get("label")
            if require_label or label is not None:
                if label not in LABELS:
                    raise ValueError(f"{where}: 'label' must be one of {list(LABELS)}, got {label!r}")
            for field in _OPTIONAL_STR_FIELDS:
                if field in obj and obj[field] is not None and not isinstance(obj[field], str):
                    raise ValueError(f"{where}: '{field}' must be a string")
            rows.append(obj)
    return rows


def load_seed(paths: tuple[Path, ...] = SEED_PATHS) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The validated rows of every bundled seed file, in order (see :func:`load_jsonl`), and one
    record per file for a model's ``data_files``: name, path (relative to the repository for the
    bundled files), sha256 and row count."""
    rows: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for p in paths:
        file_rows = load_jsonl(p)
        rows.extend(file_rows)
        shown = f"routing_models/data/{p.name}" if p.parent == SEED_PATH.parent else str(p)
        files.append({"name": p.name, "path": shown, "sha256": sha256_file(p), "rows": len(file_rows)})
    return rows, files


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_group(row: dict[str, Any]) -> str:
    """The source *family* of a row, used for source-balanced weights and leave-one-source-out CV.

    * ``source`` strings of the shared corpus name ``repo/path @commit (dataset)``: the part before
      `` @`` or `` (`` is the family (one repository file = one family);
    * seed-corpus rows (no ``source``, a ``style``) → ``seed:<style>``;
    * agent corrections → ``correction``; anything else → ``unknown``.
    """
    source = row.get("source")
    if isinstance(source, str) and source:
        if source == "correction":
            return "correction"
        family = source.split(" @", 1)[0].split(" (", 1)[0].strip()
        return family or source
    style = row.get("style")
    if isinstance(style, str) and style:
        return f"seed:{style}"
    return "unknown"
