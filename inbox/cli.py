"""The `social-inbox` command line (see README and shared design doc for the contract).

Exit status: 0 ok, 1 runtime error (database unreachable, unreadable file, refused action),
2 configuration or usage error. Errors are one line on stderr, never a traceback."""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from inbox.db import snapshot_reader
from inbox.errors import ConfigError, DatabaseUnavailable, DomainError, InboxError, InputError

__all__ = ["main", "build_parser"]

Handler = Callable[[argparse.Namespace], Awaitable[int]]


def _out(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="social-inbox", description="A cross-department social inbox.")
    p.add_argument("--config", help="settings file (TOML); default $INBOX_CONFIG or config/inbox.toml")
    p.add_argument("--database-url", help="database URL; default $INBOX_DATABASE_URL or the settings file")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="migrate the database to head, create teams, install the default model")
    s = sub.add_parser("serve", help="web app, API and connector scheduler")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--role", choices=["all", "web", "worker"], default="all",
                   help="web: app and API only; worker: scheduler only; all: both")
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
    s = sub.add_parser("refine", help="run the background refiner now: re-score new, unclaimed, model-routed items")
    s.add_argument("--limit", type=int, default=None, help="items per batch (default: refiner.batch_size)")
    s.add_argument("--all", action="store_true", help="repeat until no candidate is left")
    s = sub.add_parser("dead-letters", help="list rejected input")
    s.add_argument("--source")
    s.add_argument("--limit", type=int, default=50)

    m = sub.add_parser("model", help="train, evaluate, list and promote model versions")
    ms = m.add_subparsers(dest="model_command", required=True, metavar="SUBCOMMAND")
    t = ms.add_parser("train", help="train a new version on the seed corpus plus the given files")
    t.add_argument("--data", action="append", default=[], metavar="FILE")
    t.add_argument("--include-corrections", action="store_true", help="add agents' transfers as training rows")
    t.add_argument("--eval", action="append", default=[], metavar="FILE", help="evaluate on these files too")
    t.add_argument("--promote", action="store_true", help="promote the new version (gated by --eval's first file)")
    t.add_argument("--force", action="store_true")
    t.add_argument("--no-refiner", action="store_true",
                   help="skip the refiner head (the sentence-encoder blend; embedding costs ~20 ms a row, cached)")
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

    u = sub.add_parser("users", help="users and API tokens")
    us = u.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    a = us.add_parser("add", help="create or update a user")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=["agent", "lead", "manager", "admin"])
    a.add_argument("--team", action="append", default=[], help="team membership (repeatable)")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.add_argument("--locale", choices=["en", "it"])
    a.add_argument("--capacity", type=int, default=10)
    us.add_parser("list", help="list users")
    tk = us.add_parser("token", help="print a new API token for the user")
    tk.add_argument("name")
    rv = us.add_parser("revoke", help="revoke all API tokens of the user")
    rv.add_argument("name")

    d = sub.add_parser("demo", help="fresh demo under var/demo: sample data through real connectors, then serve")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8080)
    d.add_argument("--no-serve", action="store_true", help="set up and poll, then exit")
    return p


def _settings(args: argparse.Namespace) -> Any:
    from inbox.settings import load_settings
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.log_level:
        overrides["log_level"] = args.log_level
    return load_settings(args.config, overrides)


async def _open(args: argparse.Namespace, *, model: bool = False) -> Any:
    from inbox.service import Services
    svc = await Services.open(args.settings)
    if model:
        await svc.load_model()
    return svc


# commands ---------------------------------------------------------------------------------------

async def cmd_init(args: argparse.Namespace) -> int:
    svc = await _open(args)
    try:
        await svc.init_schema()
        from inbox import migrate
        _out({"database": "ready", "revision": await migrate.current_revision(svc.engine),
              "teams": [t.name for t in args.settings.teams]})
    finally:
        await svc.close()
    return 0


async def _require_schema(svc: Any) -> None:
    from inbox import migrate
    if await migrate.current_revision(svc.engine) != migrate.head_revision():
        raise DatabaseUnavailable("the database is not initialised or not at the latest schema: "
                                  "run `social-inbox init` first")


async def cmd_import(args: argparse.Namespace) -> int:
    from inbox.importer import read_csv, read_jsonl
    if args.file == "-":
        stream = sys.stdin.buffer
    else:
        path = Path(args.file)
        try:
            stream = path.open("rb")
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
    svc = await _open(args)
    total = {"read": 0, "ingested": 0, "duplicates": 0, "rejected": 0, "reposts": 0, "queued": 0, "triaged": 0}
    teams: dict[str, int] = {}
    item_ids: list[int] = []
    refined: dict[str, Any] | None = None
    try:
        await _require_schema(svc)
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
    _out({**total, "teams": teams, **({"refined": refined} if refined is not None else {})})
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


EXPORT_FIELDS = ["id", "source", "external_id", "text", "lang", "label", "confidence", "team", "watchers",
                 "status", "priority", "assignee", "created_at", "routed_at", "route_reason"]


async def cmd_export(args: argparse.Namespace) -> int:
    from inbox.repo.export import export_rows
    svc = await _open(args)
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        await _require_schema(svc)
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
    svc = await _open(args, model=True)
    try:
        preds = svc.classifier.predict(list(args.texts))
        refined: list[Any] = []
        if args.refined:
            model = svc.classifier.model
            if getattr(model, "refiner", None) is None:
                raise DomainError(f"model {model.version} has no refiner head (trained without the encoder)")
            encoder = await _encoder(args)
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
            _out(row)
    finally:
        await svc.close()
    return 0


async def cmd_queues(args: argparse.Namespace) -> int:
    from inbox.repo import views
    svc = await _open(args)
    try:
        await _require_schema(svc)
        now = svc.clock.now()
        async with snapshot_reader(svc.engine).connect() as conn:
            counts = await views.queue_overview(conn=conn, now=now)
        rows = []
        for t in args.settings.teams:
            c = counts.get(t.name, {"open": 0, "new": 0, "oldest": None, "overdue": 0})
            age = (now - c["oldest"]).total_seconds() if c["oldest"] else None
            rows.append({"team": t.name, "private": t.private, "open": c["open"], "new": c["new"],
                         "overdue": c["overdue"], "oldest_age_seconds": round(age) if age is not None else None})
        if args.json:
            _out({"queues": rows})
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
    from inbox.metrics import compute_metrics
    from inbox.settings import parse_duration
    try:
        since = parse_duration(args.since)
    except ValueError as e:
        raise InputError(f"--since: {e}") from None
    svc = await _open(args)
    try:
        await _require_schema(svc)
        m = await compute_metrics(svc.engine, args.settings, svc.clock.now(), since, team=args.team)
    finally:
        await svc.close()
    if args.json:
        _out(m)
    else:
        for k, v in m.items():
            print(f"{k}: {json.dumps(v, default=str)}")
    return 0


async def cmd_route(args: argparse.Namespace) -> int:
    from inbox.explain import explain_mention
    svc = await _open(args)
    try:
        await _require_schema(svc)
        out = await explain_mention(svc, args.id)
    finally:
        await svc.close()
    _out(out)
    return 0


async def cmd_dead_letters(args: argparse.Namespace) -> int:
    from inbox.repo.mentions import dead_letters
    svc = await _open(args)
    try:
        async with snapshot_reader(svc.engine).connect() as conn:
            for r in await dead_letters(conn=conn, source=args.source, limit=args.limit):
                _out(r)
    finally:
        await svc.close()
    return 0


async def cmd_model(args: argparse.Namespace) -> int:
    from inbox import modelops
    from inbox.repo import items, model_versions
    svc = await _open(args)
    try:
        await _require_schema(svc)
        c = args.model_command
        if c == "train":
            corrections: list[dict[str, Any]] = []
            if args.include_corrections:
                async with snapshot_reader(svc.engine).connect() as conn:
                    corrections = await items.corrections(conn=conn)
            encoder = None
            if not args.no_refiner and args.settings.refiner.enabled:
                encoder = await _encoder(args)
            path, meta = await asyncio.get_running_loop().run_in_executor(
                None, modelops.train_and_save, list(args.data), corrections, Path(args.settings.model_dir),
                list(args.eval), None, encoder)
            async with svc.engine.begin() as conn:
                await model_versions.register(meta["version"], str(path), meta, conn=conn, now=svc.clock.now())
            out = {"version": meta["version"], "path": str(path), "rows": sum(f.get("rows", 0) for f in meta.get("data_files", [])),
                   "corrections": len(corrections), "refiner": "refiner" in meta, "evaluation": meta.get("evaluation", {})}
            if args.promote:
                out["promoted"] = await _promote(svc, meta["version"], args.eval[0] if args.eval else None, args.force)
            _out(out)
        elif c == "evaluate":
            async with snapshot_reader(svc.engine).connect() as conn:
                row = (await model_versions.get_version(args.version, conn=conn) if args.version
                       else await model_versions.active_version(conn=conn))
            if row is None:
                raise DomainError(f"no model version {args.version or '(active)'}")
            encoder = None
            if not args.fast and (row.get("meta") or {}).get("refiner"):
                encoder = await _encoder(args)
            result = await asyncio.get_running_loop().run_in_executor(
                None, modelops.evaluate_file, Path(row["path"]), args.data, encoder)
            if args.json:
                _out(result)
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
                    _out({"version": r["version"], "active": r["active"], "created_at": r["created_at"],
                          "promoted_at": r["promoted_at"], "path": r["path"],
                          "evaluation": {k: v.get("macro_f1") for k, v in (meta.get("evaluation") or {}).items()
                                         if isinstance(v, dict)}})
        elif c == "promote":
            _out({"version": args.version, "promoted": await _promote(svc, args.version, args.data, args.force)})
    finally:
        await svc.close()
    return 0


async def _promote(svc: Any, version: str, data: str | None, force: bool) -> bool:
    from inbox import modelops
    return await modelops.promote_version(svc, version, data, force)


async def _encoder(args: argparse.Namespace) -> Any:
    """The refiner's encoder with the model folder's embedding cache, or None (logged)."""
    from inbox import modelops
    return await asyncio.to_thread(modelops.load_encoder, Path(args.settings.model_dir),
                                   args.settings.refiner.encoder_dir)


async def cmd_refine(args: argparse.Namespace) -> int:
    svc = await _open(args, model=True)
    total = {"looked_at": 0, "rescored": 0, "rerouted": 0}
    skipped = None
    try:
        await _require_schema(svc)
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
    _out({**total, **({"skipped": skipped} if skipped else {})})
    return 0


async def cmd_users(args: argparse.Namespace) -> int:
    from inbox import auth
    from inbox.repo import accounts
    svc = await _open(args)
    try:
        await _require_schema(svc)
        c = args.users_command
        now = svc.clock.now()
        if c == "add":
            known = {t.name for t in args.settings.teams}
            bad = [t for t in args.team if t not in known]
            if bad:
                raise InputError(f"--team: unknown team {bad[0]!r}; teams are {', '.join(sorted(known))}")
            pw_hash = None
            if args.password_stdin:
                pw = sys.stdin.readline().rstrip("\r\n")
                auth.check_password_strength(pw)
                pw_hash = auth.hash_password(pw)
            async with svc.engine.begin() as conn:
                user = await accounts.add_user(args.name, args.role, args.team, pw_hash, conn=conn, now=now,
                                               locale=args.locale, capacity=args.capacity)
            _out({"id": user.id, "name": user.name, "role": user.role, "teams": list(user.teams),
                  "password": pw_hash is not None})
        elif c == "list":
            async with snapshot_reader(svc.engine).connect() as conn:
                for u in await accounts.list_users(conn=conn):
                    _out({"id": u.id, "name": u.name, "role": u.role, "teams": list(u.teams)})
        elif c == "token":
            async with svc.engine.begin() as conn:
                user = await accounts.get_user(args.name, conn=conn)
                if user is None:
                    raise InputError(f"no user {args.name!r}")
                token = auth.new_token()
                await accounts.add_token(user.id, auth.token_hash(token), conn=conn, now=now)
            print(token)
        elif c == "revoke":
            async with svc.engine.begin() as conn:
                user = await accounts.get_user(args.name, conn=conn)
                if user is None:
                    raise InputError(f"no user {args.name!r}")
                n = await accounts.revoke_tokens(user.id, conn=conn, now=now)
            _out({"name": args.name, "revoked": n})
    finally:
        await svc.close()
    return 0


async def cmd_poll(args: argparse.Namespace) -> int:
    from inbox.poller import poll_once
    svc = await _open(args, model=True)
    try:
        await _require_schema(svc)
        results = await poll_once(svc, names=args.connector)
    finally:
        await svc.close()
    for r in results:
        _out(r)
    return 0 if all(r.get("ok", False) or r.get("skipped") for r in results) else 1


async def cmd_serve(args: argparse.Namespace) -> int:
    from inbox.web.server import run_server
    s = args.settings
    await run_server(s, host=args.host or s.server.host, port=args.port or s.server.port, role=args.role)
    return 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from inbox.demo import run_demo
    await run_demo(args)
    return 0


COMMANDS: dict[str, Handler] = {
    "init": cmd_init, "import": cmd_import, "export": cmd_export, "classify": cmd_classify,
    "queues": cmd_queues, "metrics": cmd_metrics, "route": cmd_route, "model": cmd_model,
    "users": cmd_users, "poll": cmd_poll, "serve": cmd_serve, "demo": cmd_demo,
    "dead-letters": cmd_dead_letters, "refine": cmd_refine,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from inbox.logs import configure_logging
    try:
        if args.command == "demo":
            os.environ.setdefault("INBOX_DEMO", "1")
        args.settings = _settings(args) if args.command != "demo" else None
        configure_logging(args.settings.log_level if args.settings else "info")
        return asyncio.run(COMMANDS[args.command](args))
    except ConfigError as e:
        print(f"social-inbox: config error: {e}", file=sys.stderr)
        return 2
    except (DatabaseUnavailable, InputError, DomainError) as e:
        print(f"social-inbox: error: {e}", file=sys.stderr)
        return 1
    except InboxError as e:
        print(f"social-inbox: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
