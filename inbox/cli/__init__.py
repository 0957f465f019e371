"""The `social-inbox` command line (see README and shared design doc for the contract): the
argument tree is assembled from one module per command group (``*_commands.py``).

Exit status: 0 ok, 1 runtime error (database unreachable, unreadable file, refused action),
2 configuration or usage error. Errors are one line on stderr, never a traceback."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence

from inbox.cli import (
    digest_commands,
    governance_commands,
    intake_commands,
    model_commands,
    read_commands,
    reply_commands,
    search_commands,
    service_commands,
    user_commands,
)
from inbox.cli.common import Handler, settings_from_args
from inbox.errors import ConfigError, DatabaseUnavailable, DomainError, InboxError, InputError

__all__ = ["main", "build_parser"]

GROUPS = (service_commands, intake_commands, read_commands, search_commands, model_commands, user_commands,
          reply_commands, digest_commands, governance_commands)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The whole argument tree, and the handler of each top-level command."""
    p = argparse.ArgumentParser(prog="social-inbox", description="A cross-department social inbox.")
    p.add_argument("--config", help="settings file (TOML); default $INBOX_CONFIG or config/inbox.toml")
    p.add_argument("--database-url", help="database URL; default $INBOX_DATABASE_URL or the settings file")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for group in GROUPS:
        handlers.update(group.register(sub))
    return p, handlers


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it exists (every platform but Windows, a dependency there): the
    same asyncio API, less CPU per request and per thread hand-off. None: asyncio's own."""
    if sys.platform == "win32":
        return None
    import uvloop
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    from inbox.ops.logs import configure_logging
    try:
        if args.command == "demo":
            os.environ.setdefault("INBOX_DEMO", "1")
        args.settings = settings_from_args(args) if args.command != "demo" else None
        configure_logging(args.settings.log_level if args.settings else "info")
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(handlers[args.command](args))
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
