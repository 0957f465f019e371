"""`digest`: write a brief to a file, send the due briefs, list and set who receives them.

    social-inbox digest --period 7d [--team T] [--lang it] --format html|pdf|text --out FILE
    social-inbox digest send                       # what `serve` does every digest.check_every
    social-inbox digest recipients [--add AUDIENCE EMAIL [--lang it]] [--remove ID]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema
from inbox.errors import InputError
from inbox.settings import parse_duration


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    s = sub.add_parser("digest", help="the brief: write one, send the due ones, set their recipients")
    s.add_argument("action", nargs="?", choices=["write", "send", "recipients"], default="write",
                   help="write (default): one brief to --out; send: the due briefs; recipients: list or change")
    s.add_argument("--period", default="7d", help="the period that ends now, e.g. 24h, 7d, 30d (write)")
    s.add_argument("--team", help="a team's brief; default: the executive brief (write)")
    s.add_argument("--format", choices=["html", "pdf", "text"], default="text", help="(write)")
    s.add_argument("--lang", choices=["en", "it"], default="en", help="language of the brief or recipient")
    s.add_argument("--out", "-o", help="file to write; default standard output (not for pdf)")
    s.add_argument("--add", nargs=2, metavar=("AUDIENCE", "EMAIL"),
                   help='(recipients) add EMAIL to a team\'s brief or to "executive"')
    s.add_argument("--remove", type=int, metavar="ID", help="(recipients) remove a recipient by id")
    return {"digest": cmd_digest}


async def cmd_digest(args: argparse.Namespace) -> int:
    svc = await open_services(args)
    try:
        await require_schema(svc)
        if args.action == "send":
            from inbox.web.brief_mail import send_due
            for result in await send_due(svc):
                emit(result)
            return 0
        if args.action == "recipients":
            return await _recipients(svc, args)
        return await _write(svc, args)
    finally:
        await svc.close()


async def _write(svc: Any, args: argparse.Namespace) -> int:
    from inbox.work.brief import EXECUTIVE, build_brief
    try:
        period = parse_duration(args.period)
    except ValueError as e:
        raise InputError(f"--period: {e}") from None
    audience = args.team or EXECUTIVE
    if audience != EXECUTIVE and svc.settings.team(audience) is None:
        raise InputError(f"--team: unknown team {audience!r}")
    if args.format == "pdf" and not args.out:
        raise InputError("--format pdf needs --out FILE")
    now = svc.clock.now()
    brief = await build_brief(svc.engine, svc.settings, audience, now - period, now)
    if args.format == "pdf":
        from inbox.web.brief_pdf import render_pdf
        data = render_pdf(brief, svc.settings, args.lang)
    else:
        from inbox.web.brief_render import render_html, render_text
        text = (render_html if args.format == "html" else render_text)(brief, svc.settings, args.lang)
        data = text.encode("utf-8")
    if args.out:
        try:
            await asyncio.to_thread(Path(args.out).write_bytes, data)
        except OSError as e:
            raise InputError(f"--out: cannot write {args.out}: {e.strerror}") from None
        emit({"written": args.out, "audience": audience, "format": args.format, "bytes": len(data)})
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


async def _recipients(svc: Any, args: argparse.Namespace) -> int:
    from inbox.storage.repo import digests
    from inbox.work.brief import recipient_problem
    async with svc.engine.begin() as conn:
        if args.add:
            audience, email = args.add[0], args.add[1].strip()
            problem = recipient_problem(svc.settings, audience, email)
            if problem:
                raise InputError(f"--add: {problem}")
            await digests.add_recipient(audience, email, args.lang, conn=conn, now=svc.clock.now())
        if args.remove is not None and not await digests.remove_recipient(args.remove, conn=conn):
            raise InputError(f"--remove: no recipient {args.remove}")
        for r in await digests.recipients(conn=conn):
            emit({"id": r["id"], "audience": r["audience"], "email": r["email"], "lang": r["lang"]})
    return 0
