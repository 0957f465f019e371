"""What every command shares: its settings, its services, its JSON output."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from inbox.errors import DatabaseUnavailable

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def emit(obj: Any) -> None:
    """One JSON document per line on standard output."""
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def settings_from_args(args: argparse.Namespace) -> Any:
    from inbox.settings import load_settings
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.log_level:
        overrides["log_level"] = args.log_level
    return load_settings(args.config, overrides)


async def open_services(args: argparse.Namespace, *, model: bool = False) -> Any:
    from inbox.ops.services import Services
    svc = await Services.open(args.settings)
    if model:
        await svc.load_model()
    return svc


async def require_schema(svc: Any) -> None:
    from inbox.storage import migrate
    if await migrate.current_revision(svc.engine) != migrate.head_revision():
        raise DatabaseUnavailable("the database is not initialised or not at the latest schema: "
                                  "run `social-inbox init` first")

