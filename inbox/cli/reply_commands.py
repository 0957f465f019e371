"""`replies send --once`: run the reply sender once (what `serve` does every half second)."""
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
    return {"replies": cmd_replies}


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
