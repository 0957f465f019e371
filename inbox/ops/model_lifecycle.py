"""Model lifecycle for the CLI and the admin pages: train (seed + files + corrections), evaluate,
register, promote behind a gate. The learning itself is in routing_models."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import structlog

from inbox.errors import Conflict, InputError, NotFound
from inbox.ops import audit

__all__ = [
    "ensure_default_artifact",
    "train_rows",
    "train_and_save",
    "evaluate_file",
    "load_encoder",
    "CachedEncoder",
    "gate",
    "require",
    "promote_version",
    "promote_with_gate",
]

log = structlog.get_logger(__name__)


def ensure_default_artifact(model_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The bundled default model and its metadata; on a checkout without it, train one from the
    seed corpus into ``model_dir``."""
    from routing_models import registry
    path = registry.default_artifact_path()
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text(encoding="utf-8"))
    log.warning("default_model_missing_training_from_seed", path=str(path))
    from routing_models.data import load_seed
    from routing_models.train import train
    rows, files = load_seed()
    clf = train(rows, data_files=files)
    saved = registry.save(clf, model_dir)
    return saved, clf.metadata


def _load(path: str) -> list[dict[str, Any]]:
    from routing_models.data import load_jsonl
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return load_jsonl(p)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise InputError(str(e)) from None


def train_rows(
    files: list[str], corrections: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Seed corpus + given files + corrections -> (rows, data file descriptions)."""
    from routing_models.data import load_seed, sha256_file
    rows, described = load_seed()
    for f in files:
        more = _load(f)
        rows.extend(more)
        described.append({"path": f, "sha256": sha256_file(Path(f)), "rows": len(more)})
    if corrections:
        for c in corrections:
            rows.append({"text": c["text"], "label": c["label"], "lang": c.get("lang"), "source": "correction"})
        described.append({"path": "(corrections from transfers)", "rows": len(corrections)})
    return rows, described


def load_encoder(model_dir: Path, folder: str = "") -> Any:
    """The sentence encoder for the refiner head, with its embeddings cached in
    ``model_dir/embeddings.npz`` (retraining with new corrections embeds only those); None when its
    files are missing or fail their hash check (logged)."""
    from routing_models.encoder_use import try_load
    encoder, error = try_load(folder)
    if encoder is None:
        log.warning("encoder_unavailable", error=error)
        return None
    return CachedEncoder(encoder, Path(model_dir) / "embeddings.npz")


class CachedEncoder:
    """``encode(texts)`` through :func:`routing_models.refine.embed_cached`."""

    def __init__(self, encoder: Any, cache: Path) -> None:
        self.encoder = encoder
        self.cache = cache

    def encode(self, texts: list[str]) -> Any:
        from routing_models.refine import embed_cached
        return embed_cached(self.encoder, list(texts), self.cache)


def train_and_save(files: list[str], corrections: list[dict[str, Any]], model_dir: Path,
                   evaluation_files: list[str] | None = None, params: dict[str, Any] | None = None,
                   encoder: Any = None) -> tuple[Path, dict[str, Any]]:
    """Train and save a version; with ``encoder`` (see :func:`load_encoder`) it gets a refiner head."""
    from routing_models import registry
    from routing_models.train import train
    rows, described = train_rows(files, corrections)
    evals = {Path(f).name: _load(f) for f in (evaluation_files or [])}
    clf = train(rows, params=params, data_files=described, evaluation_rows=evals or None, encoder=encoder)
    path = registry.save(clf, model_dir)
    log.info("model_trained", model_version=clf.version, rows=len(rows), corrections=len(corrections))
    return path, clf.metadata


def evaluate_file(model_path: Path, data: str, encoder: Any = None) -> dict[str, Any]:
    """``model evaluate``'s JSON; with ``encoder`` and a model with a refiner head, the refined labels'
    figures (``"stage": "refined"``, the first labels' under ``"fast"``)."""
    from routing_models import registry
    from routing_models.evaluate import evaluate
    clf = registry.load(model_path)
    return evaluate(clf, _load(data), encoder=encoder)


# what each stage of a model's evaluation means for routing (see routing_models.evaluate)
_STAGES = (("final", "on the labels items end up with"), ("first", "on the labels at ingest"))


def _stage_f1(result: dict[str, Any], stage: str) -> float:
    """macro-F1 of the ``final`` labels (refined when the model has a head and the encoder ran) or
    of the ``first`` ones (the n-gram model alone: at ingest, and always without the encoder)."""
    if stage == "first" and "fast" in result:
        return float(result["fast"]["macro_f1"])
    return float(result["macro_f1"])


def gate(current: dict[str, Any] | None, candidate: dict[str, Any],
         tolerance: float = 0.0) -> dict[str, dict[str, float]]:
    """Refuse a promotion that would route worse on the held-out file: a macro-F1 below the current
    model's on the labels items end up with (after the refiner's second look) or on the labels they
    get at ingest (what routes until then, and whenever the encoder is unavailable). Returns the
    figures it compared, per stage: ``{"final": {"current": .., "candidate": ..}, "first": ..}``."""
    if current is None:
        return {}
    compared: dict[str, dict[str, float]] = {}
    for stage, what in _STAGES:
        a, b = _stage_f1(current, stage), _stage_f1(candidate, stage)
        compared[stage] = {"current": round(a, 4), "candidate": round(b, 4)}
        if b + tolerance < a:
            raise Conflict(f"candidate macro-F1 {b:.4f} is worse than the current model's {a:.4f} {what} "
                           f"on the held-out file; use --force to promote anyway")
    return compared


def require(version_row: dict[str, Any] | None, version: str) -> dict[str, Any]:
    if version_row is None:
        raise NotFound(f"no model version {version!r}")
    return version_row


async def promote_version(svc: Any, version: str, held_out: str | None = None, force: bool = False, *,
                          actor: str = "cli") -> bool:
    """:func:`promote_with_gate` without the figures: True once promoted."""
    return bool((await promote_with_gate(svc, version, held_out, force, actor=actor))["promoted"])


async def promote_with_gate(svc: Any, version: str, held_out: str | None = None,
                            force: bool = False, *, actor: str = "cli") -> dict[str, Any]:
    """Make ``version`` the active model, gated: refused (Conflict) when its macro-F1 on the
    held-out file (default: the seed corpus) is worse than the current model's, after the refiner's
    second look or at ingest (:func:`gate`), unless ``force``.
    The shared logic of ``social-inbox model promote`` and the admin page. The promotion and a
    ``model`` message on the control channel commit together: every running instance, whatever its
    role, loads the new version within about a second.

    Returns ``{"promoted": True, "gate": ...}``: the gate's held-out file, both versions and the
    macro-F1 it compared per stage (:func:`gate`), or ``None`` when no comparison ran (no active
    model, the same version, or ``force``)."""
    import asyncio

    from inbox.storage.repo import model_versions
    async with svc.engine.connect() as conn:
        cand = require(await model_versions.get_version(version, conn=conn), version)
        cur = await model_versions.active_version(conn=conn)
    if cur is not None and cur["version"] != version and not force:
        from routing_models.data import SEED_PATH
        data = held_out or str(SEED_PATH)
        loop = asyncio.get_running_loop()
        encoder = None
        if svc.settings.refiner.enabled:  # both stages are compared (see gate); embeddings cached
            encoder = await loop.run_in_executor(None, load_encoder, Path(svc.settings.model_dir),
                                                 svc.settings.refiner.encoder_dir)
        a = await loop.run_in_executor(None, evaluate_file, Path(cur["path"]), data, encoder)
        b = await loop.run_in_executor(None, evaluate_file, Path(cand["path"]), data, encoder)
        figures = {"held_out": data, "current": cur["version"], "candidate": version,
                   "macro_f1": gate(a, b), "n": b.get("n")}
    else:
        figures = None
    from inbox.ops.control import MODEL, send
    async with svc.engine.begin() as conn:
        await model_versions.promote(version, conn=conn, now=svc.clock.now())
        await send(MODEL, {"version": version}, conn=conn, now=svc.clock.now(), origin=svc.owner)
        await audit.record("model_promoted", actor, {"version": version, "previous": cur["version"] if cur else None,
                                                     "forced": force}, conn=conn, now=svc.clock.now())
    log.info("model_promoted", model_version=version, forced=force, gate=figures)
    return {"promoted": True, "gate": figures}
