"""`social-inbox demo`: a fresh SQLite database under var/demo, the bundled model, demo users, a
local replay server with recorded platform responses (our own samples in each platform's format),
the real connectors pointed at it, one poll, then the web app."""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from inbox.settings import DEFAULT_CONFIG, Settings, load_settings

__all__ = ["run_demo", "DEMO_USERS", "demo_settings"]

log = structlog.get_logger(__name__)

DEMO_CONFIG = DEFAULT_CONFIG.parent / "demo.toml"
DEMO_REPLY_TOKEN_ENV = "DEMO_REPLY_TOKEN"  # the demo connectors' reply_token_env
DEMO_USERS = [  # name, role, teams, password (each one the password policy accepts)
    ("carla", "agent", ["customer_care"], "care-desk-lumetta"),
    ("hanna", "agent", ["hr"], "people-desk-lumetta"),
    ("marco", "agent", ["marketing"], "brand-desk-lumetta"),
    ("paola", "agent", ["pr"], "press-desk-lumetta"),
    ("tina", "lead", ["triage", "customer_care"], "lead-desk-lumetta"),
    ("mara", "manager", ["customer_care", "marketing", "pr", "triage"], "metrics-desk-lumetta"),
    ("admin", "admin", [], "settings-desk-lumetta"),
]


def demo_settings(replay_base: str, overrides: dict[str, Any] | None = None) -> Settings:
    """config/demo.toml with every connector URL pointed at the replay server."""
    s = load_settings(DEMO_CONFIG, overrides)
    conns = []
    for c in s.connectors:
        data = c.model_dump()
        if data.get("base_url"):
            data["base_url"] = data["base_url"].replace("http://127.0.0.1:0", replay_base)
        if data.get("feeds"):
            data["feeds"] = [f.replace("http://127.0.0.1:0", replay_base) for f in data["feeds"]]
        conns.append(type(c).model_validate(data))
    return s.model_copy(update={"connectors": conns})


async def start_replay(host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    from connectors.context_sandbox import ContextSandbox, load_posts
    from connectors.replay import SAMPLES_DIR, create_replay_app
    from connectors.write_sandbox import WriteSandbox
    app = create_replay_app(SAMPLES_DIR, writes=WriteSandbox(), context=ContextSandbox(load_posts()))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://{host}:{port}"


async def prepare(settings: Settings) -> dict[str, Any]:
    """Initialise the demo database, users, and poll every connector once."""
    from inbox.domain import credentials
    from inbox.ingest.poll import poll_once
    from inbox.ops.services import Services
    from inbox.storage.repo import accounts
    svc = await Services.open(settings)
    try:
        await svc.init_schema()
        now = svc.clock.now()
        async with svc.engine.begin() as conn:
            for name, role, teams, pw in DEMO_USERS:
                await accounts.add_user(name, role, teams, credentials.hash_password(pw), conn=conn, now=now)
        await svc.load_model()
        results = await poll_once(svc)
    finally:
        await svc.close()
    return {"polls": results}


def _fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


async def run_demo(args: argparse.Namespace, run_server: Callable[..., Awaitable[None]]) -> None:
    """Set up, poll, print the logins, then ``run_server`` (the web layer's, handed in by the CLI)."""
    from inbox.ops.logs import configure_logging
    configure_logging("info")
    # the replay server stands in for the platforms' write APIs: a token for it, in this process only
    os.environ.setdefault(DEMO_REPLY_TOKEN_ENV, "demo-reply-token")
    demo_dir = Path("var/demo")
    await asyncio.to_thread(_fresh_dir, demo_dir)
    replay, base = await start_replay()
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "database_url", None):
            overrides["database_url"] = args.database_url
        settings = demo_settings(base, overrides)
        summary = await prepare(settings)
        total = sum(p.get("ingested", 0) for p in summary["polls"])
        print(f"\nsocial-inbox demo: {total} mentions polled from the replay server at {base}")
        for p in summary["polls"]:
            print(f"  {p['connector']:<12} ingested={p.get('ingested', 0):<4} "
                  f"{'ok' if p.get('ok') else 'error: ' + str(p.get('error'))}")
        if args.no_serve:
            return
        url = f"http://{args.host}:{args.port}"
        print(f"\nOpen {url} and log in as one of (user / password):")
        for name, role, teams, pw in DEMO_USERS:
            print(f"  {name:<7} {pw:<22} {role:<8} {', '.join(teams) or 'all teams'}")
        print("Press Ctrl+C to stop.\n", flush=True)
        await run_server(settings, host=args.host, port=args.port, role="all")
    finally:
        await replay.cleanup()
        await asyncio.sleep(0)
