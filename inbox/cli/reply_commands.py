"""`replies send --once`: run the reply sender once (what `serve` does every half second);
`context fetch --once`: fetch the thread context of open items once (what `serve` does every few
minutes)."""
from __future__ import annotations

import argparse
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    r = sub.add_parser("replies", help="the reply outbox")
    rs = r.add_subparsers(dest="replies_command", required=True, metavar="SUBCOMMAND")
    s = rs.add_parser("send", help="deliver the due replies through the platforms' write APIs")
    s.add_argument("--once", action="store_true", required=True, help="one pass, then exit")
    c = sub.add_parser("context", help="thread context: the posts open items answer")
    cs = c.add_subparsers(dest="context_command", required=True, metavar="SUBCOMMAND")
    s = cs.add_parser("fetch", help="fetch from the platforms the parent and thread posts not stored yet")
    s.add_argument("--once", action="store_true", required=True, help="one pass, then exit")
    s.add_argument("--connector", action="append", help="only this connector (repeatable)")
    return {"replies": cmd_replies, "context": cmd_context}


async def cmd_replies(args: argparse.Namespace) -> int:
    from inbox.work.reply_sender import ReplySender
    svc = await open_services(args)
    sender = ReplySender(svc)
    try:
        await require_schema(svc)
        emit(await sender.run_once())
    finally:
        await sender.close()
        await svc.close()
    return 0


async def cmd_context(args: argparse.Namespace) -> int:
    from inbox.ingest.thread_context import fetch_thread_context
    svc = await open_services(args)
    try:
        await require_schema(svc)
        done = await fetch_thread_context(svc, sources=args.connector)
    finally:
        await svc.close()
    emit({"sources": done})
    return 1 if any(d["failed"] for d in done.values()) else 0
