"""A process that runs the refiner imports the encoder's libraries when its scheduler starts, before
the web site listens: importing onnx's C extension holds the GIL for about half a second, which a
worker thread would not hide from requests. Run in a fresh interpreter, where nothing imported onnx."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, sys, tempfile
from pathlib import Path
from inbox.ops.scheduler import InboxScheduler
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.work.item_actions import WorkService
from tests.conftest import make_settings

async def main(enabled):
    tmp = Path(tempfile.mkdtemp())
    svc = await Services.open(make_settings(f"sqlite+aiosqlite:///{tmp}/w.db", tmp,
                                            refiner={"enabled": enabled}, connectors=[]))
    await migrate.upgrade(svc.engine)
    before = "onnx" in sys.modules
    sched = InboxScheduler(svc, WorkService(svc.engine, svc.settings, svc.clock, owner=svc.owner))
    await sched.start()
    after = "onnx" in sys.modules
    await sched.stop()
    await svc.close()
    print(before, after)

asyncio.run(main(sys.argv[1] == "on"))
"""


def _run(mode: str) -> str:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_the_scheduler_imports_the_encoder_libraries_before_serving() -> None:
    assert _run("on") == "False True"


def test_without_the_refiner_they_are_not_imported() -> None:
    assert _run("off") == "False False"
