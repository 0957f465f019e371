"""`search`: find items by their words, open and closed (everything, or what one user may see)."""
from __future__ import annotations

import argparse
import html
import re
from datetime import UTC, datetime
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema
from inbox.errors import InputError

__all__ = ["register"]

_MARK = re.compile(r"</?mark>")


def _when(v: str) -> datetime:
    try:
        d = datetime.fromisoformat(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{v!r} is not a date or an ISO 8601 time") from None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    s = sub.add_parser("search", help="find items by their words (accents and case do not matter)")
    s.add_argument("query", nargs="+", metavar="QUERY", help='words, "a phrase", word* for a prefix')
    s.add_argument("--json", action="store_true", help="one JSON document: items and next_cursor")
    s.add_argument("--as", dest="as_user", metavar="USER", help="only what this user may see")
    s.add_argument("--team")
    s.add_argument("--status", default="all", help="all, open, closed or a comma-separated list of statuses")
    s.add_argument("--lang")
    s.add_argument("--source")
    s.add_argument("--assignee", help="a user name, or none")
    s.add_argument("--priority", type=int, choices=range(4))
    s.add_argument("--label")
    s.add_argument("--since", type=_when, help="received at or after (a date or ISO 8601 time)")
    s.add_argument("--until", type=_when, help="received before (a date or ISO 8601 time)")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--cursor", help="next_cursor of the previous page")
    return {"search": cmd_search}


def _plain(snippet: str | None, text: str) -> str:
    if snippet is None:
        return " ".join(text.split())[:100]
    return " ".join(html.unescape(_MARK.sub("*", snippet)).split())


async def cmd_search(args: argparse.Namespace) -> int:
    from inbox.storage.repo import accounts
    from inbox.work import finder
    from inbox.work.item_actions import visible_teams
    if not 1 <= args.limit <= 1000:
        raise InputError("--limit is 1 to 1000")
    svc = await open_services(args)
    try:
        await require_schema(svc)
        teams = None
        if args.as_user:
            async with svc.engine.connect() as conn:
                user = await accounts.get_user(args.as_user, conn=conn)
            if user is None:
                raise InputError(f"no user {args.as_user!r}")
            teams = visible_teams(user)
        filters = finder.SearchFilters(
            teams=teams, team=args.team, statuses=finder.statuses_of(args.status), lang=args.lang,
            source=args.source, assignee=args.assignee, priority=args.priority, label=args.label,
            since=args.since, until=args.until)
        page = await finder.find(svc.reads, " ".join(args.query), filters, limit=args.limit, cursor=args.cursor)
    finally:
        await svc.close()
    if args.json:
        emit({"items": page.items, "next_cursor": page.next_cursor})
        return 0
    for it in page.items:
        print(f"{it['id']}\t{it['team']}\t{it['status']}\t{_plain(it['snippet'], it['text'])}")
    if page.next_cursor:
        print(f"more: --cursor {page.next_cursor}")
    return 0
