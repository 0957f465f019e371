"""`init`, `serve` and `demo`: set up a database, run the service, run the demo."""
from __future__ import annotations

import argparse
from typing import Any

from inbox.cli.common import Handler, emit, open_services


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    sub.add_parser("init", help="migrate the database to head, create teams, install the default model")
    s = sub.add_parser("serve", help="web app, API and connector scheduler")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--role", choices=["all", "web", "worker"], default="all",
                   help="web: app and API only; worker: scheduler only; all: both")
    d = sub.add_parser("demo", help="fresh demo under var/demo: sample data through real connectors, then serve")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8080)
    d.add_argument("--no-serve", action="store_true", help="set up and poll, then exit")
    return {"init": cmd_init, "serve": cmd_serve, "demo": cmd_demo}


async def cmd_init(args: argparse.Namespace) -> int:
    svc = await open_services(args)
    try:
        await svc.init_schema()
        from inbox.storage import migrate
        emit({"database": "ready", "revision": await migrate.current_revision(svc.engine),
              "teams": [t.name for t in args.settings.teams]})
    finally:
        await svc.close()
    return 0


async def cmd_serve(args: argparse.Namespace) -> int:
    from inbox.web.server import run_server
    s = args.settings
    await run_server(s, host=args.host or s.server.host, port=args.port or s.server.port, role=args.role)
    return 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from inbox.ops.demo import run_demo
    from inbox.web.server import run_server
    await run_demo(args, run_server)
    return 0

