"""SQLite under faults: a long reader holding a snapshot, another process holding the write lock
(SQLITE_BUSY), a full disk (a small tmpfs; RLIMIT_FSIZE in a subprocess where mounting is not
permitted), and SIGKILL in the middle of a write transaction. Each time `PRAGMA integrity_check`
stays "ok" and ingest resumes with nothing lost and nothing doubled."""
from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from connectors.base import Mention
from connectors.fake import make_mention
from inbox.ingest.classifier import ClassifierHolder
from inbox.ops.services import Services
from inbox.storage import migrate
from inbox.storage.repo import accounts
from tests.conftest import KeywordClassifier
from tests.faults.harness import ledger, model_artifact, prepare_database, spawn, write_config

pytestmark = pytest.mark.timeout(600)

TEXTS = ("my order is broken, please help", "we are hiring a new position", "love the new price offer",
         "a journalist asks the ceo about the lawsuit")


def mentions(n: int, *, start: int = 0, pad: int = 0, source: str = "sq") -> list[Mention]:
    return [make_mention(f"e{i}", f"{TEXTS[i % 4]} #{i} " + "x" * pad, source=source) for i in range(start, start + n)]


def integrity(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as c:
        return str(c.execute("PRAGMA integrity_check").fetchone()[0])


@contextlib.asynccontextmanager
async def service(db: Path, settings_factory: Any) -> AsyncIterator[Services]:
    settings = settings_factory(f"sqlite+aiosqlite:///{db}")
    svc = await Services.open(settings)
    try:
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
        svc.classifier = ClassifierHolder(KeywordClassifier())
        await svc.ready_pipeline()
        yield svc
    finally:
        await svc.close()


class Holder:
    """Another process holding the database: a read snapshot (``BEGIN; SELECT``) or the write lock
    (``BEGIN IMMEDIATE``), until released."""

    def __init__(self, db: Path, mode: str) -> None:
        code = ("import sqlite3, sys\n"
                f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
                f"c.execute({'BEGIN IMMEDIATE' if mode == 'write' else 'BEGIN'!r})\n"
                "n = c.execute('SELECT count(*) FROM mention').fetchone()[0]\n"
                "print(n, flush=True)\n"
                "sys.stdin.readline()\n"
                "print(c.execute('SELECT count(*) FROM mention').fetchone()[0], flush=True)\n"
                "c.execute('COMMIT')\n")
        self.p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        assert self.p.stdout is not None
        self.seen_at_start = int(self.p.stdout.readline())

    def release(self) -> int:
        """Ends the transaction; returns the count the holder saw at its end (its snapshot)."""
        assert self.p.stdin is not None and self.p.stdout is not None
        self.p.stdin.write("\n")
        self.p.stdin.flush()
        seen = int(self.p.stdout.readline())
        self.p.wait(timeout=30)
        return seen


async def test_long_reader_does_not_block_ingest_and_keeps_its_snapshot(tmp_path: Path, settings_factory: Any) -> None:
    """WAL: ingest commits while another process reads a snapshot; the reader sees no change, nothing is lost."""
    db = tmp_path / "reader.db"
    async with service(db, settings_factory) as svc:
        await svc.pipeline.ingest(mentions(100))  # type: ignore[union-attr]
        reader = Holder(db, "read")
        for k in range(1, 6):
            res = await svc.pipeline.ingest(mentions(200, start=k * 1000))  # type: ignore[union-attr]
            assert res.ingested == 200
        assert reader.release() == reader.seen_at_start == 100
        await svc.pipeline.ingest(mentions(100))  # type: ignore[union-attr]
    with contextlib.closing(sqlite3.connect(db)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert integrity(db) == "ok"
    got = await ledger(f"sqlite+aiosqlite:///{db}")
    assert (got.mentions, got.items, got.doubled, got.orphans) == (1100, 1100, 0, 0)


async def test_writer_lock_within_busy_timeout_is_waited_out(tmp_path: Path, settings_factory: Any) -> None:
    """Another process holds the write lock briefly: the batch waits for it instead of failing."""
    db = tmp_path / "busy.db"
    async with service(db, settings_factory) as svc:
        holder = Holder(db, "write")
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, holder.release)
        res = await svc.pipeline.ingest(mentions(300))  # type: ignore[union-attr]
        assert res.ingested == 300
    assert integrity(db) == "ok"


async def test_sqlite_busy_beyond_timeout_fails_the_batch_whole_and_it_resumes(
        tmp_path: Path, settings_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLITE_BUSY past busy_timeout: the batch fails as a whole (nothing partial), the retry stores it once."""
    import inbox.storage.engine
    monkeypatch.setattr(inbox.storage.engine, "SQLITE_BUSY_TIMEOUT_MS", 300)
    db = tmp_path / "busy2.db"
    async with service(db, settings_factory) as svc:
        await svc.pipeline.ingest(mentions(50))  # type: ignore[union-attr]
        holder = Holder(db, "write")
        with pytest.raises(OperationalError, match="locked"):
            await svc.pipeline.ingest(mentions(300, start=50))  # type: ignore[union-attr]
        holder.release()
        assert (await ledger(f"sqlite+aiosqlite:///{db}")).mentions == 50
        res = await svc.pipeline.ingest(mentions(350))  # type: ignore[union-attr]
        assert (res.ingested, res.duplicates) == (300, 50)
    assert integrity(db) == "ok"
    got = await ledger(f"sqlite+aiosqlite:///{db}")
    assert (got.mentions, got.items, got.doubled, got.orphans) == (350, 350, 0, 0)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "16m") -> Iterator[bool]:
    """A small tmpfs at ``path`` (True), or False where mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True,
                       check=False)
    if r.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(path: Path, leave: int) -> Path:
    """Fill the filesystem at ``path`` up to ``leave`` free bytes with a filler file."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    filler = path / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


async def test_full_disk_fails_batches_whole_and_ingest_resumes_once_space_is_back(
        tmp_path: Path, settings_factory: Any) -> None:
    """A full tmpfs: batches fail as a whole with SQLITE_FULL, integrity stays ok, resumed ingest stores everything
    once."""
    mnt = tmp_path / "disk"
    with small_disk(mnt) as mounted:
        if not mounted:
            pytest.skip(
                "mount -t tmpfs is not permitted here: see test_file_size_limit_... for the RLIMIT_FSIZE variant"
            )
        db = mnt / "full.db"
        batches = [mentions(200, start=k * 200, pad=300) for k in range(12)]
        failed_at = None
        async with service(db, settings_factory) as svc:
            await svc.pipeline.ingest(batches[0])  # type: ignore[union-attr]
            filler = _fill(mnt, leave=96 * 1024)
            for k, batch in enumerate(batches[1:], start=1):
                try:
                    await svc.pipeline.ingest(batch)  # type: ignore[union-attr]
                except OperationalError as e:
                    assert "full" in str(e).lower() or "disk" in str(e).lower(), e
                    failed_at = k
                    break
            assert failed_at is not None, "the disk never filled up"
            stored = (await ledger(f"sqlite+aiosqlite:///{db}")).mentions
            assert stored == 200 * failed_at, "a failed batch left part of itself behind"
            assert integrity(db) == "ok"
            filler.unlink()
            for batch in batches:
                await svc.pipeline.ingest(batch)  # type: ignore[union-attr]
        assert integrity(db) == "ok"
        got = await ledger(f"sqlite+aiosqlite:///{db}")
        assert (got.mentions, got.items, got.doubled, got.orphans) == (2400, 2400, 0, 0)


_FSIZE_CHILD = r"""
import asyncio, json, resource, signal, sys
sys.path.insert(0, sys.argv[3])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG instead
from tests.faults.test_sqlite_faults import mentions, service
from tests.conftest import make_settings
from pathlib import Path
db, limit = Path(sys.argv[1]), int(sys.argv[2])
async def main():
    async with service(db, lambda url: make_settings(url, db.parent)) as svc:
        await svc.pipeline.ingest(mentions(200, pad=300))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        out = {"stored_batches": 1, "error": None}
        for k in range(1, 40):
            try:
                await svc.pipeline.ingest(mentions(200, start=k * 200, pad=300))
                out["stored_batches"] += 1
            except Exception as e:
                out["error"] = f"{type(e).__name__}: {e}"[:300]
                break
        print(json.dumps(out), flush=True)
asyncio.run(main())
"""


async def test_file_size_limit_fails_batches_whole_and_ingest_resumes(tmp_path: Path, settings_factory: Any) -> None:
    """RLIMIT_FSIZE in a subprocess (the full-disk simulation without mount): whole batches fail, then resume."""
    import json
    db = tmp_path / "fsize.db"
    root = str(Path(__file__).resolve().parent.parent.parent)
    r = subprocess.run([sys.executable, "-c", _FSIZE_CHILD, str(db), str(2 * 1024 * 1024), root],
                       capture_output=True, text=True, timeout=300, check=False)
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    assert lines, r.stderr[-2000:]
    out = json.loads(lines[-1])
    assert out["error"] is not None, "the file size limit was never reached"
    assert integrity(db) == "ok"
    assert (await ledger(f"sqlite+aiosqlite:///{db}")).mentions == 200 * out["stored_batches"]
    async with service(db, settings_factory) as svc:
        for k in range(40):
            await svc.pipeline.ingest(mentions(200, start=k * 200, pad=300))  # type: ignore[union-attr]
    assert integrity(db) == "ok"
    got = await ledger(f"sqlite+aiosqlite:///{db}")
    assert (got.mentions, got.items, got.doubled, got.orphans) == (8000, 8000, 0, 0)


@pytest.mark.slow
async def test_sigkill_mid_transaction_keeps_the_file_sound_and_import_resumes(tmp_path: Path) -> None:
    """`import` SIGKILLed inside its write transaction and at random moments: integrity ok, re-import completes once."""
    from inbox.settings import load_settings
    db = tmp_path / "kill.db"
    url = f"sqlite+aiosqlite:///{db}"
    cfg = write_config(tmp_path / "cfg.toml")
    model_artifact()
    await prepare_database(load_settings(cfg, {"database_url": url}), agents=())
    src = tmp_path / "in.jsonl"
    import json
    src.write_text("".join(json.dumps({"id": f"k{i}", "text": f"{TEXTS[i % 4]} {i}"}) + "\n" for i in range(6000)))
    env = {"INBOX_DATABASE_URL": url, "INBOX_LOG_LEVEL": "warning"}
    # --no-refine: this is about the ingest's transactions (the refiner's take/apply are tested apart)
    args = ["--config", str(cfg), "import", "--no-refine", str(src), "--batch-size", "500"]
    p = await spawn(args, env=env, log=tmp_path / "paused.log", pause_at="before_commit")
    assert await p.wait_marker(), p.output()
    await p.kill()
    assert integrity(db) == "ok"
    assert (await ledger(url)).mentions == 0, "the killed transaction left rows behind"
    import random
    rng = random.Random(5)
    for k in range(3):
        p = await spawn(args, env=env, log=tmp_path / f"kill{k}.log")
        before = (await ledger(url)).mentions
        for _ in range(600):  # kill once this run has committed something (or has finished)
            await asyncio.sleep(0.05)
            if not p.running or (await ledger(url)).mentions > before:
                break
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        await p.kill()
        assert integrity(db) == "ok"
        got = await ledger(url)
        assert got.mentions % 500 == 0 and got.doubled == 0 and got.orphans == 0, got.summary()
    p = await spawn(args, env=env, log=tmp_path / "final.log")
    assert await p.popen.wait() == 0, p.output()
    assert integrity(db) == "ok"
    got = await ledger(url, {("import", f"k{i}") for i in range(6000)})
    assert (got.mentions, got.items, got.lost, got.extra, got.doubled, got.orphans) == (6000, 6000, 0, 0, 0, 0)
