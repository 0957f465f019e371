"""What one SQLite statement costs in CPU on each of the service's two paths to the database, on
asyncio's event loop and on uvloop: the async engine (aiosqlite: each call of cursor, execute,
fetch and close is a hand-off to the connection's thread and back to the loop) and a read unit
(inbox.storage.read_units: the statements run in a worker thread on a pysqlite connection, one
hand-off per unit). The statement reads one row by primary key, so what is measured is the path,
not SQLite's work.

    python bench/db_handoff.py [--n 3000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402

from inbox.cli import event_loop_factory  # noqa: E402
from inbox.storage.engine import create_engine  # noqa: E402
from inbox.storage.read_units import ReadUnits  # noqa: E402

STATEMENT = text("SELECT v FROM t WHERE id = 1")


def _unit(c: Connection, n: int) -> None:
    for _ in range(n):
        c.execute(STATEMENT).all()


async def measure(n: int) -> dict[str, float]:
    """CPU microseconds per statement (every thread of the process) on each path."""
    engine = create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/handoff.db", pool_size=2)
    async with engine.begin() as c:
        await c.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        await c.execute(text("INSERT INTO t (v) VALUES ('a')"))
    out: dict[str, float] = {}
    async with engine.connect() as c:
        for _ in range(200):
            (await c.execute(STATEMENT)).all()
        t0 = time.process_time()
        for _ in range(n):
            (await c.execute(STATEMENT)).all()
        out["async_engine_us"] = round(1e6 * (time.process_time() - t0) / n, 1)
    units = ReadUnits(engine)
    await units.run(_unit, 200)
    for per_unit in (n, 10):
        t0 = time.process_time()
        for _ in range(n // per_unit):
            await units.run(_unit, per_unit)
        out[f"unit_of_{per_unit if per_unit != n else 'all'}_us"] = round(1e6 * (time.process_time() - t0) / n, 1)
    units.close()
    await engine.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=3000, help="statements per path")
    args = p.parse_args()
    for name, factory in (("asyncio", None), ("uvloop", event_loop_factory())):
        with asyncio.Runner(loop_factory=factory) as runner:
            print(json.dumps({"loop": name, "n": args.n, **runner.run(measure(args.n))}), flush=True)


if __name__ == "__main__":
    main()
