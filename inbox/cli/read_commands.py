"""`export`, `classify`, `queues`, `metrics` and `route explain`: what the inbox holds and why."""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema
from inbox.cli.model_commands import load_encoder
from inbox.errors import DomainError, InputError
from inbox.storage.engine import snapshot_reader


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    s = sub.add_parser("export", help="one row per mention")
    s.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    s.add_argument("--team")
    s.add_argument("--status")
    s.add_argument("--output", "-o", help="write to this file instead of standard output")
    s = sub.add_parser("classify", help="classify texts with the active model")
    s.add_argument("texts", nargs="+")
    s.add_argument("--explain", action="store_true", help="add the top n-gram contributions")
    s.add_argument("--refined", action="store_true",
                   help="add the refined label (the model blended with the sentence encoder, as the refiner sees it)")
    s = sub.add_parser("queues", help="queue sizes and oldest open item per team")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("metrics", help="routing metrics")
    s.add_argument("--json", action="store_true")
    s.add_argument("--since", default="7d", help="period, e.g. 24h, 7d, 30d")
    s.add_argument("--team")
    s = sub.add_parser("route", help="routing decisions")
    rs = s.add_subparsers(dest="route_command", required=True, metavar="SUBCOMMAND")
    e = rs.add_parser("explain", help="why a mention went where it went")
    e.add_argument("id", type=int)
    return {
        "export": cmd_export,
        "classify": cmd_classify,
        "queues": cmd_queues,
        "metrics": cmd_metrics,
        "route": cmd_route,
    }


EXPORT_FIELDS = ["id", "source", "external_id", "text", "lang", "label", "confidence", "team", "watchers",
                 "status", "priority", "assignee", "created_at", "routed_at", "route_reason", "first_response_at",
                 "replies_sent"]


async def cmd_export(args: argparse.Namespace) -> int:
    from inbox.storage.repo.export_rows import export_rows
    svc = await open_services(args)
    out = (await asyncio.to_thread(open, args.output, "w", newline="", encoding="utf-8")) if args.output \
        else sys.stdout
    try:
        await require_schema(svc)
        writer = None
        if args.format == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
            writer.writeheader()
        async with snapshot_reader(svc.engine).connect() as conn:
            async for row in export_rows(conn=conn, team=args.team, status=args.status):
                if writer is not None:
                    writer.writerow({**row, "watchers": ";".join(row["watchers"])})
                else:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        await svc.close()
        if out is not sys.stdout:
            out.close()
    return 0


async def cmd_classify(args: argparse.Namespace) -> int:
    svc = await open_services(args, model=True)
    try:
        preds = svc.classifier.predict(list(args.texts))
        refined: list[Any] = []
        if args.refined:
            model = svc.classifier.model
            if getattr(model, "refiner", None) is None:
                raise DomainError(f"model {model.version} has no refiner head (trained without the encoder)")
            encoder = await load_encoder(args)
            if encoder is None:
                raise DomainError("the sentence encoder is unavailable (see the log line encoder_unavailable)")
            refined = await asyncio.to_thread(model.predict_refined, list(args.texts), encoder.encoder)
        for i, (text, p) in enumerate(zip(args.texts, preds, strict=True)):
            row: dict[str, Any] = {"label": p.label, "confidence": round(p.confidence, 4),
                                   "probabilities": {k: round(v, 4) for k, v in p.probabilities.items()},
                                   "model_version": p.model_version}
            if refined:
                r = refined[i]
                row["refined"] = {"label": r.label, "confidence": round(r.confidence, 4),
                                  "probabilities": {k: round(v, 4) for k, v in r.probabilities.items()}}
            if args.explain:
                row["explanation"] = svc.classifier.explain(text)
            emit(row)
    finally:
        await svc.close()
    return 0


async def cmd_queues(args: argparse.Namespace) -> int:
    from inbox.storage.repo import page_reads
    svc = await open_services(args)
    try:
        await require_schema(svc)
        now = svc.clock.now()
        async with snapshot_reader(svc.engine).connect() as conn:
            counts = await page_reads.queue_overview(conn=conn, now=now)
        rows = []
        for t in args.settings.teams:
            c = counts.get(t.name, {"open": 0, "new": 0, "oldest": None, "overdue": 0})
            age = (now - c["oldest"]).total_seconds() if c["oldest"] else None
            rows.append({"team": t.name, "private": t.private, "open": c["open"], "new": c["new"],
                         "overdue": c["overdue"], "oldest_age_seconds": round(age) if age is not None else None})
        if args.json:
            emit({"queues": rows})
        else:
            print(f"{'team':<16}{'open':>8}{'new':>8}{'overdue':>9}  oldest")
            for r in rows:
                age = r["oldest_age_seconds"]
                print(f"{r['team']:<16}{r['open']:>8}{r['new']:>8}{r['overdue']:>9}  "
                      f"{_human(age) if age is not None else '-'}")
    finally:
        await svc.close()
    return 0


def _human(seconds: float) -> str:
    s = int(seconds)
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= n:
            return f"{s // n}{unit}"
    return f"{s}s"


async def cmd_metrics(args: argparse.Namespace) -> int:
    from inbox.settings import parse_duration
    from inbox.work.routing_metrics import compute_metrics
    try:
        since = parse_duration(args.since)
    except ValueError as e:
        raise InputError(f"--since: {e}") from None
    svc = await open_services(args)
    try:
        await require_schema(svc)
        m = await compute_metrics(svc.engine, args.settings, svc.clock.now(), since, team=args.team)
    finally:
        await svc.close()
    if args.json:
        emit(m)
    else:
        for k, v in m.items():
            print(f"{k}: {json.dumps(v, default=str)}")
    return 0


async def cmd_route(args: argparse.Namespace) -> int:
    from inbox.work.route_explain import explain_mention
    svc = await open_services(args)
    try:
        await require_schema(svc)
        out = await explain_mention(svc, args.id)
    finally:
        await svc.close()
    emit(out)
    return 0

