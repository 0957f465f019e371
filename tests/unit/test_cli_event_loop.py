"""Every `social-inbox` command runs on uvloop's event loop where it exists."""
from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from inbox import cli


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
def test_commands_run_on_uvloop(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import uvloop
    seen: list[Any] = []

    async def probe(_args: Any) -> int:
        seen.append(asyncio.get_running_loop())
        return 0
    parser, handlers = cli.build_parser()
    command = next(iter(handlers))
    monkeypatch.setattr(cli, "build_parser", lambda: (parser, {**handlers, command: probe}))
    monkeypatch.setattr(cli, "settings_from_args", lambda _args: None)
    argv = {"demo": ["demo"]}.get(command, [command])
    assert cli.main(argv) == 0
    assert len(seen) == 1 and isinstance(seen[0], uvloop.Loop)
