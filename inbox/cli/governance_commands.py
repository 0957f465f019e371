"""`privacy export|erase`, `retention run` and `audit`: what is stored about a person, its
removal, retention, and the audit trail."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    p = sub.add_parser("privacy", help="data-subject requests: export or erase what is stored about an author")
    ps = p.add_subparsers(dest="privacy_command", required=True, metavar="SUBCOMMAND")
    for name, text in (("export", "print (JSON) everything stored about the author"),
                       ("erase", "delete every stored text, note, reply, raw payload and dead letter of the "
                                 "author; keep tombstones so a later poll or import does not bring them back")):
        s = ps.add_parser(name, help=text)
        s.add_argument("--author", required=True, help="the author's handle, e.g. @mario.rossi")
        s.add_argument("--source", help="only this source (connector name)")
    r = sub.add_parser("retention", help="per-team retention of closed items")
    rs = r.add_subparsers(dest="retention_command", required=True, metavar="SUBCOMMAND")
    rs.add_parser("run", help="strip text, author, notes and replies from closed items older than their "
                              "team's retention, now")
    a = sub.add_parser("audit", help="the audit trail: changes to items, users, tokens, configuration, models")
    a.add_argument("--actor")
    a.add_argument("--kind")
    a.add_argument("--item", type=int)
    a.add_argument("--since", help="ISO date or date-time (UTC)")
    a.add_argument("--until", help="ISO date or date-time (UTC)")
    a.add_argument("--limit", type=int, default=100)
    return {"privacy": cmd_privacy, "retention": cmd_retention, "audit": cmd_audit}


async def cmd_privacy(args: argparse.Namespace) -> int:
    from inbox.work import privacy
    svc = await open_services(args)
    try:
        await require_schema(svc)
        if args.privacy_command == "export":
            doc = await privacy.subject_export(svc.engine, args.author, source=args.source)
            sys.stdout.write(json.dumps(doc, default=str, ensure_ascii=False, indent=1) + "\n")
        else:
            emit(await privacy.erase_author(svc.engine, args.author, actor="cli", now=svc.clock.now(),
                                            source=args.source))
    finally:
        await svc.close()
    return 0


async def cmd_retention(args: argparse.Namespace) -> int:
    from inbox.work.retention import run_retention
    svc = await open_services(args)
    try:
        await require_schema(svc)
        emit({"stripped": await run_retention(svc, actor="cli")})
    finally:
        await svc.close()
    return 0


async def cmd_audit(args: argparse.Namespace) -> int:
    from inbox.ops.audit import AuditFilter, audit_events
    svc = await open_services(args)
    try:
        await require_schema(svc)
        flt = AuditFilter.parse(actor=args.actor, kind=args.kind, item=args.item, since=args.since,
                                until=args.until, limit=args.limit)
        for e in await audit_events(svc.engine, flt):
            emit(e)
    finally:
        await svc.close()
    return 0
