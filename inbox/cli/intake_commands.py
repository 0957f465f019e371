"""`import`, `poll`, `refine` and `dead-letters`: mentions into the pipeline, and what it refused."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema
from inbox.errors import InputError
from inbox.storage.engine import snapshot_reader


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    s = sub.add_parser("poll", help="poll connectors")
    s.add_argument("--once", action="store_true", required=True, help="poll every enabled connector once")
    s.add_argument("--connector", action="append", help="only this connector (repeatable)")
    s = sub.add_parser("import", help="import JSON Lines (or CSV) mentions through the pipeline")
    s.add_argument("file", help="a file path, or - for standard input")
    s.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name, else jsonl")
    s.add_argument("--source", default="import", help="source name for records without one")
    s.add_argument("--batch-size", type=int, default=2000)
    s.add_argument("--no-refine", action="store_true",
                   help="leave the refiner's second look to the background job (default: the first "
                        "[refiner] on_import items are refined before the command returns)")
    s = sub.add_parser("refine", help="run the background refiner now: re-score new, unclaimed, model-routed items")
    s.add_argument("--limit", type=int, default=None, help="items per batch (default: refiner.batch_size)")
    s.add_argument("--all", action="store_true", help="repeat until no candidate is left")
    s = sub.add_parser("dead-letters", help="list rejected input")
    s.add_argument("--source")
    s.add_argument("--limit", type=int, default=50)
    return {"import": cmd_import, "poll": cmd_poll, "refine": cmd_refine, "dead-letters": cmd_dead_letters}


async def cmd_import(args: argparse.Namespace) -> int:
    from inbox.ingest.file_import import read_csv, read_jsonl
    if args.file == "-":
        stream = sys.stdin.buffer
    else:
        path = Path(args.file)
        try:
            stream = await asyncio.to_thread(path.open, "rb")
        except IsADirectoryError:
            raise InputError(f"{args.file}: is a directory") from None
        except FileNotFoundError:
            raise InputError(f"{args.file}: no such file") from None
        except PermissionError:
            raise InputError(f"{args.file}: permission denied") from None
        except OSError as e:
            raise InputError(f"{args.file}: cannot read: {e.strerror}") from None
    fmt = args.format or ("csv" if args.file.lower().endswith(".csv") else "jsonl")
    reader = read_csv if fmt == "csv" else read_jsonl
    svc = await open_services(args)
    total = {"read": 0, "ingested": 0, "duplicates": 0, "rejected": 0, "reposts": 0, "queued": 0, "triaged": 0}
    teams: dict[str, int] = {}
    item_ids: list[int] = []
    refined: dict[str, Any] | None = None
    try:
        await require_schema(svc)
        pipeline = await svc.ready_pipeline()
        try:
            batches = reader(stream, source=args.source, batch_size=max(1, args.batch_size))
            async for res in pipeline.ingest_stream(batches, log_event="import_batch"):
                for k in total:
                    total[k] += getattr(res, k)
                for t, c in res.teams.items():
                    teams[t] = teams.get(t, 0) + c
                item_ids += res.item_ids
        except OSError as e:
            raise InputError(f"{args.file}: read failed: {e.strerror or e}") from None
        if item_ids and not args.no_refine and args.settings.refiner.enabled and args.settings.refiner.on_import:
            refined = await _refine_imported(svc, item_ids, total, teams)
    finally:
        await svc.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    emit({**total, "teams": teams, **({"refined": refined} if refined is not None else {})})
    return 0


async def _refine_imported(svc: Any, item_ids: list[int], total: dict[str, int], teams: dict[str, int]
                           ) -> dict[str, Any]:
    """The refiner's second look at the first ``[refiner] on_import`` imported items; ``total`` and
    ``teams`` are updated with its moves.  Returns what it did (or why it was skipped)."""
    limit = svc.settings.refiner.on_import
    res = await (await svc.ready_refiner()).refine_items(item_ids, limit)
    triage = svc.settings.routing.triage_team
    for src, dst in res.moves:
        teams[src] -= 1
        teams[dst] = teams.get(dst, 0) + 1
        total["triaged"] += (dst == triage) - (src == triage)
    for t in [t for t, c in teams.items() if c == 0]:
        del teams[t]
    out: dict[str, Any] = {"looked_at": res.looked_at, "rerouted": res.rerouted,
                           "left_to_background": max(0, len(item_ids) - limit)}
    if res.skipped:
        out["skipped"] = res.skipped
    return out


async def cmd_poll(args: argparse.Namespace) -> int:
    from inbox.ingest.poll import poll_once
    svc = await open_services(args, model=True)
    try:
        await require_schema(svc)
        results = await poll_once(svc, names=args.connector)
    finally:
        await svc.close()
    for r in results:
        emit(r)
    return 0 if all(r.get("ok", False) or r.get("skipped") for r in results) else 1


async def cmd_refine(args: argparse.Namespace) -> int:
    svc = await open_services(args, model=True)
    total = {"looked_at": 0, "rescored": 0, "sure": 0, "rerouted": 0}
    skipped = None
    try:
        await require_schema(svc)
        refiner = await svc.ready_refiner()
        while True:
            res = await refiner.run_once(args.limit)
            for k in total:
                total[k] += getattr(res, k)
            skipped = res.skipped
            if skipped or not args.all or res.looked_at == 0:
                break
    finally:
        await svc.close()
    emit({**total, **({"skipped": skipped} if skipped else {})})
    return 0


async def cmd_dead_letters(args: argparse.Namespace) -> int:
    from inbox.storage.repo.mentions import dead_letters
    svc = await open_services(args)
    try:
        async with snapshot_reader(svc.engine).connect() as conn:
            for r in await dead_letters(conn=conn, source=args.source, limit=args.limit):
                emit(r)
    finally:
        await svc.close()
    return 0

