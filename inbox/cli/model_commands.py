"""`model train|evaluate|list|promote`: the classifier's versions."""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema
from inbox.errors import DomainError
from inbox.storage.engine import snapshot_reader


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    m = sub.add_parser("model", help="train, evaluate, list and promote model versions")
    ms = m.add_subparsers(dest="model_command", required=True, metavar="SUBCOMMAND")
    t = ms.add_parser("train", help="train a new version on the seed corpus plus the given files")
    t.add_argument("--data", action="append", default=[], metavar="FILE")
    t.add_argument("--include-corrections", action="store_true", help="add agents' transfers as training rows")
    t.add_argument("--eval", action="append", default=[], metavar="FILE", help="evaluate on these files too")
    t.add_argument("--promote", action="store_true", help="promote the new version (gated by --eval's first file)")
    t.add_argument("--force", action="store_true")
    t.add_argument("--no-refiner", action="store_true",
                   help="skip the refiner head (the sentence-encoder blend; embedding costs ~2 ms a row, cached)")
    ev = ms.add_parser("evaluate", help="evaluate a version on a labeled JSON Lines file")
    ev.add_argument("--data", required=True, metavar="FILE")
    ev.add_argument("--version", help="default: the active version")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--fast", action="store_true",
                    help="score the n-gram model alone (the label at ingest), not the refined labels")
    ms.add_parser("list", help="registered versions")
    pr = ms.add_parser("promote", help="make a version active (gated: not worse on a held-out file)")
    pr.add_argument("version")
    pr.add_argument("--data", metavar="FILE", help="held-out file for the gate (default: the seed corpus)")
    pr.add_argument("--force", action="store_true", help="promote even if the gate refuses")
    return {"model": cmd_model}


async def cmd_model(args: argparse.Namespace) -> int:
    from inbox.ops import model_lifecycle
    from inbox.storage.repo import items, model_versions
    svc = await open_services(args)
    try:
        await require_schema(svc)
        c = args.model_command
        if c == "train":
            corrections: list[dict[str, Any]] = []
            if args.include_corrections:
                async with snapshot_reader(svc.engine).connect() as conn:
                    corrections = await items.corrections(conn=conn)
            encoder = None
            if not args.no_refiner and args.settings.refiner.enabled:
                encoder = await load_encoder(args)
            path, meta = await asyncio.get_running_loop().run_in_executor(
                None, model_lifecycle.train_and_save, list(args.data), corrections, Path(args.settings.model_dir),
                list(args.eval), None, encoder)
            async with svc.engine.begin() as conn:
                await model_versions.register(meta["version"], str(path), meta, conn=conn, now=svc.clock.now())
            out = {
                "version": meta["version"],
                "path": str(path),
                "rows": sum(f.get("rows", 0) for f in meta.get("data_files", [])),
                "corrections": len(corrections),
                "refiner": "refiner" in meta,
                "evaluation": meta.get("evaluation", {}),
            }
            if args.promote:
                out.update(await _promote(svc, meta["version"], args.eval[0] if args.eval else None, args.force))
            emit(out)
        elif c == "evaluate":
            async with snapshot_reader(svc.engine).connect() as conn:
                row = (await model_versions.get_version(args.version, conn=conn) if args.version
                       else await model_versions.active_version(conn=conn))
            if row is None:
                raise DomainError(f"no model version {args.version or '(active)'}")
            encoder = None
            if not args.fast and (row.get("meta") or {}).get("refiner"):
                encoder = await load_encoder(args)
            result = await asyncio.get_running_loop().run_in_executor(
                None, model_lifecycle.evaluate_file, Path(row["path"]), args.data, encoder)
            if args.json:
                emit(result)
            else:
                print(f"model {result['model_version']} ({result['stage']} labels) on {args.data}: n={result['n']} "
                      f"accuracy={result['accuracy']:.3f} macro-F1={result['macro_f1']:.3f} ECE={result['ece']:.3f}")
                if "fast" in result:
                    print(f"  first labels (n-gram model alone): accuracy={result['fast']['accuracy']:.3f} "
                          f"macro-F1={result['fast']['macro_f1']:.3f}")
                for lab, r in result["per_class"].items():
                    print(f"  {lab:<14} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f} n={r['support']}")
                for lang, r in result["per_lang"].items():
                    print(f"  lang {lang:<9} n={r['n']} macro-F1={r['macro_f1']:.3f}")
        elif c == "list":
            async with snapshot_reader(svc.engine).connect() as conn:
                for r in await model_versions.list_versions(conn=conn):
                    meta = r["meta"] or {}
                    emit({"version": r["version"], "active": r["active"], "created_at": r["created_at"],
                          "promoted_at": r["promoted_at"], "path": r["path"],
                          "evaluation": {k: {f: v.get(f) for f in ("macro_f1", "accuracy", "ece", "n") if f in v}
                                         for k, v in (meta.get("evaluation") or {}).items() if isinstance(v, dict)}})
        elif c == "promote":
            emit({"version": args.version, **await _promote(svc, args.version, args.data, args.force)})
    finally:
        await svc.close()
    return 0


async def _promote(svc: Any, version: str, data: str | None, force: bool) -> dict[str, Any]:
    """``{"promoted": True, "gate": the figures the gate compared, or None}``."""
    from inbox.ops import model_lifecycle
    return await model_lifecycle.promote_with_gate(svc, version, data, force)


async def load_encoder(args: argparse.Namespace) -> Any:
    """The refiner's encoder with the model folder's embedding cache, or None (logged)."""
    from inbox.ops import model_lifecycle
    return await asyncio.to_thread(model_lifecycle.load_encoder, Path(args.settings.model_dir),
                                   args.settings.refiner.encoder_dir)

