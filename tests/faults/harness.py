"""Shared machinery of the fault-injection suite and of ``bench/faults.py`` (which runs the same
scenarios at full size): a cached model artifact, database preparation, real `social-inbox`
subprocesses that can be SIGKILLed at pause points, a supervisor that restarts killed instances,
PostgreSQL restarts that always leave the server running, and the exactly-once ledger.

Nothing here asserts: scenarios return figures, tests and the benchmark judge them."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent.parent
SI = str(Path(sys.executable).parent / "social-inbox")
BASE_CONFIG = ROOT / "config" / "inbox.toml"
MODEL_CACHE = ROOT / "var" / "cache" / "test-model"

__all__ = ["ROOT", "SI", "model_artifact", "prepare_database", "Agent", "write_config", "free_port", "Proc",
           "spawn", "wait_for", "Ledger", "ledger", "sql_scalar", "PgCluster", "pg_cluster", "pg_guard", "Slot",
           "Supervisor"]


# -- the model --------------------------------------------------------------------------------------------------

def _model_key() -> str:
    """The seed corpus and the code that trains and loads models: a cached artifact is only
    reused by the code that made it (a changed featurizer cannot load an older artifact)."""
    from routing_models.data import SEED_PATH
    h = hashlib.sha256(Path(SEED_PATH).read_bytes())
    for src in sorted((ROOT / "routing_models").glob("*.py")):
        h.update(src.name.encode() + src.read_bytes())
    return h.hexdigest()[:16]


def model_artifact() -> tuple[Path, dict[str, Any]]:
    """The bundled default model when it exists; else one trained once from the seed corpus and
    cached under var/cache/test-model/<key> (the key hashes the seed corpus and routing_models'
    code), so that the suite trains at most once per checkout instead of once per database."""
    from routing_models.registry import default_artifact_path
    default = default_artifact_path()
    if default.exists() and default.with_suffix(".json").exists():
        return default, json.loads(default.with_suffix(".json").read_text(encoding="utf-8"))
    cache = MODEL_CACHE / _model_key()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for art in sorted(cache.glob("*.skops")):
            meta_path = art.with_suffix(".json")
            if meta_path.exists():
                return art, json.loads(meta_path.read_text(encoding="utf-8"))
        from inbox.ops.model_lifecycle import ensure_default_artifact
        return ensure_default_artifact(cache)


# -- databases and configuration --------------------------------------------------------------------------------

@dataclass
class Agent:
    name: str
    id: int
    token: str


async def prepare_database(settings: Any, *, agents: Sequence[str] = ("agent-a", "agent-b")) -> dict[str, Agent]:
    """What `social-inbox init` does (schema at head, teams, the model registered and promoted),
    without training; plus agents in every team with an API token each."""
    from inbox.domain import credentials
    from inbox.ops.services import Services
    from inbox.storage import migrate
    from inbox.storage.repo import accounts, model_versions
    path, meta = model_artifact()
    svc = await Services.open(settings)
    out: dict[str, Agent] = {}
    try:
        await migrate.upgrade(svc.engine)
        now = svc.clock.now()
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=now)
            await model_versions.register(meta["version"], str(path), meta, conn=conn, now=now)
            await model_versions.promote(meta["version"], conn=conn, now=now)
            for name in agents:
                user = await accounts.add_user(name, "agent", [t.name for t in settings.teams], None, conn=conn,
                                               now=now, capacity=100_000)
                token = credentials.new_token()
                await accounts.add_token(user.id, credentials.token_hash(token), conn=conn, now=now)
                out[name] = Agent(name, user.id, token)
    finally:
        await svc.close()
    return out


def write_config(path: Path, *, server: dict[str, str] | None = None, connectors: str = "",
                 top: dict[str, Any] | None = None) -> Path:
    """config/inbox.toml with [server] keys replaced or added, top-level keys and connector tables."""
    lines = BASE_CONFIG.read_text(encoding="utf-8").splitlines()
    server = dict(server or {})
    out: list[str] = []
    section = ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            if section == "server" and server:
                out.extend(f"{k} = {json.dumps(v)}" for k, v in server.items())
                server = {}
            section = stripped.strip("[]")
        key = stripped.split("=", 1)[0].strip() if "=" in stripped and not stripped.startswith("#") else None
        if section == "server" and key in server:
            continue
        if section == "" and top and key in top:
            continue
        out.append(line)
    head = [f"{k} = {json.dumps(v)}" for k, v in (top or {}).items()]
    path.write_text("\n".join(head + out) + "\n" + connectors, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- processes ----------------------------------------------------------------------------------------------

@dataclass
class Proc:
    """One `social-inbox` subprocess; output goes to ``log``."""

    args: list[str]
    popen: asyncio.subprocess.Process
    log: Path
    marker: Path | None = None
    started: float = field(default_factory=time.monotonic)
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.returncode is None

    async def kill(self) -> None:
        """SIGKILL (no clean-up of any kind in the child), then reap."""
        if self.running:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGKILL)
        await self.popen.wait()

    async def wait_marker(self, timeout: float = 180.0) -> bool:
        """True once the child wrote its pause file (it is now blocked at the pause point)."""
        assert self.marker is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.marker.exists():
                return True
            if not self.running:
                return False
            await asyncio.sleep(0.05)
        return False

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


async def spawn(args: Sequence[str], *, env: dict[str, str], log: Path, pause_at: str | None = None,
                stdin: Path | None = None) -> Proc:
    """Start ``social-inbox ARGS`` in its own process group; with ``pause_at`` it blocks there."""
    full_env = {**os.environ, **env}
    marker = None
    if pause_at:
        marker = log.with_suffix(f".{pause_at}.pause")
        marker.unlink(missing_ok=True)
        full_env.update(INBOX_PAUSE_AT=pause_at, INBOX_PAUSE_FILE=str(marker), INBOX_PAUSE_SECONDS="600")
    else:
        for k in ("INBOX_PAUSE_AT", "INBOX_PAUSE_FILE"):
            full_env.pop(k, None)
    out = open(log, "ab")
    inp = open(stdin, "rb") if stdin else subprocess.DEVNULL
    try:
        p = await asyncio.create_subprocess_exec(SI, *args, env=full_env, cwd=str(ROOT), stdout=out, stderr=out,
                                                 stdin=inp, start_new_session=True)
    finally:
        out.close()
        if stdin:
            inp.close()  # type: ignore[union-attr]
    return Proc(list(args), p, log, marker)


async def wait_for(predicate: Callable[[], Any], *, timeout: float, every: float = 0.2) -> bool:
    """Poll an (async or plain) predicate until it holds; False after ``timeout`` seconds. Used as a
    liveness guard (a hang fails the test instead of blocking it), never to judge speed."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)


# -- the exactly-once ledger -----------------------------------------------------------------------------------

@dataclass
class Ledger:
    """What the database holds, judged against the keys the source offered."""

    mentions: int
    keys: set[tuple[str, str]]
    items: int
    lost: int                      # offered keys that are not stored
    extra: int                     # stored keys that were never offered
    doubled: int                   # mentions routed twice, items with two "routed" events, duplicate keys
    orphans: int                   # mentions without a routing decision
    claimed: int

    def summary(self) -> dict[str, int]:
        return {"mentions": self.mentions, "items": self.items, "lost": self.lost, "extra": self.extra,
                "doubled": self.doubled, "orphans": self.orphans, "claimed": self.claimed}


async def ledger(database_url: str, expected: Iterable[tuple[str, str]] | None = None,
                 *, ignore_sources: Sequence[str] = ("crisis",)) -> Ledger:
    """Count lost and doubled work: every stored mention once, one routing decision each, one
    "routed" event per queue item. ``expected`` None means "whatever is stored" (lost = extra = 0)."""
    from inbox.storage.engine import create_engine
    from inbox.storage.repo._common import T_DECISION, T_EVENT, T_ITEM, T_MENTION
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(T_MENTION.c.id, T_MENTION.c.source, T_MENTION.c.external_id)
                                       .where(T_MENTION.c.source.not_in(list(ignore_sources))))).all()
            ids = {r[0] for r in rows}
            keys_list = [(r[1], r[2]) for r in rows]
            dec: dict[int, int] = {int(m): int(n) for m, n in await conn.execute(
                select(T_DECISION.c.mention_id, func.count()).group_by(T_DECISION.c.mention_id))}
            routed: dict[int, int] = {int(i): int(n) for i, n in await conn.execute(
                select(T_EVENT.c.item_id, func.count()).where(T_EVENT.c.kind == "routed").group_by(T_EVENT.c.item_id))}
            n_items = (await conn.execute(select(func.count()).select_from(T_ITEM)
                                          .where(T_ITEM.c.id.in_(select(T_MENTION.c.id).where(
                                              T_MENTION.c.source.not_in(list(ignore_sources))))))).scalar_one()
            claimed = (await conn.execute(select(func.count()).select_from(T_ITEM)
                                          .where(T_ITEM.c.status == "claimed"))).scalar_one()
    finally:
        await engine.dispose()
    keys = set(keys_list)
    doubled = (len(keys_list) - len(keys)) + sum(1 for m, n in dec.items() if m in ids and n > 1) \
        + sum(1 for i, n in routed.items() if i in ids and n > 1)
    orphans = sum(1 for m in ids if m not in dec)
    exp = set(expected) if expected is not None else keys
    return Ledger(mentions=len(keys_list), keys=keys, items=int(n_items), lost=len(exp - keys),
                  extra=len(keys - exp), doubled=doubled, orphans=orphans, claimed=int(claimed))


# -- PostgreSQL restarts -------------------------------------------------------------------------------------

@dataclass
class PgCluster:
    """The Debian cluster serving a DSN's port (``pg_lsclusters``), restarted with pg_ctlcluster."""

    version: str
    name: str
    port: int
    restarts: int = 0

    def _ctl(self, action: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def is_ready(self) -> bool:
        r = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False, timeout=30)
        return r.returncode == 0

    def restart(self) -> None:
        """Restart the server (fast shutdown: every client connection is cut)."""
        r = self._ctl("restart")
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctlcluster restart failed: {r.stderr.strip() or r.stdout.strip()}")
        self.restarts += 1
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_ready():
                return True
            time.sleep(0.2)
        return False

    def ensure_running(self) -> None:
        """Start the server if it is down; called in every ``finally`` of a test that restarts it."""
        if self.is_ready():
            return
        self._ctl("start")
        if not self.wait_ready():
            raise RuntimeError(f"PostgreSQL {self.version}/{self.name} did not come back")


def pg_cluster(dsn: str) -> PgCluster:
    """The local cluster listening on the DSN's port."""
    from sqlalchemy.engine import make_url
    port = make_url(dsn.replace("postgresql+asyncpg", "postgresql")).port or 5432
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == str(port):
            return PgCluster(parts[0], parts[1], port)
    raise RuntimeError(f"no local PostgreSQL cluster on port {port} (pg_lsclusters: {out.strip()!r})")


# -- a supervisor: instances killed at random and restarted ---------------------------------------------------

@dataclass
class Slot:
    name: str
    args: list[str]
    env: dict[str, str]
    proc: Proc | None = None
    done: bool = False
    starts: int = 0
    kills: int = 0
    failures: int = 0


class Supervisor:
    """Keeps N instance processes running (as systemd or `restart: always` would) until each has
    exited 0 once; ``chaos`` kills a random live instance every ``kill_every`` seconds and restarts
    PostgreSQL at the given offsets."""

    def __init__(self, slots: Sequence[Slot], logdir: Path, *, rng: random.Random, restart_delay: float = 0.5) -> None:
        self.slots = list(slots)
        self.logdir = logdir
        self.rng = rng
        self.restart_delay = restart_delay
        self.kills = 0
        self.pg_restarts = 0
        self.events: list[tuple[float, str]] = []
        self.t0 = time.monotonic()

    def note(self, what: str) -> None:
        self.events.append((round(time.monotonic() - self.t0, 2), what))

    async def _start(self, slot: Slot) -> None:
        slot.starts += 1
        log = self.logdir / f"{slot.name}.log"
        slot.proc = await spawn(slot.args, env=slot.env, log=log)

    @property
    def finished(self) -> bool:
        return all(s.done for s in self.slots)

    async def run(self, *, kill_every: tuple[float, float] | None, pg: PgCluster | None = None,
                  pg_restart_after: Sequence[int] = (), progress: Callable[[], Awaitable[int]] | None = None,
                  goal: int | None = None, deadline: float = 3600) -> None:
        """Until every slot has exited 0 once, or ``progress()`` (e.g. mentions stored) reaches
        ``goal`` (the work is shared: a slot killed over and over does not hold up the others), or
        ``deadline`` seconds pass. PostgreSQL is restarted each time ``progress()`` first reaches
        a value of ``pg_restart_after``."""
        self.t0 = time.monotonic()
        for s in self.slots:
            await self._start(s)
        tasks = [asyncio.create_task(self._watch(s)) for s in self.slots]
        chaos = [asyncio.create_task(self._killer(kill_every))] if kill_every else []
        if pg is not None and pg_restart_after and progress is not None:
            chaos.append(asyncio.create_task(self._pg_restarter(pg, pg_restart_after, progress)))
        ends: list[asyncio.Task[Any]] = [asyncio.create_task(self._all_done(tasks, deadline))]
        if goal is not None and progress is not None:
            ends.append(asyncio.create_task(self._reach(goal, progress)))
        try:
            done, _ = await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
        finally:
            for t in chaos + tasks + ends:
                t.cancel()
            await asyncio.gather(*chaos, *tasks, *ends, return_exceptions=True)
            for s in self.slots:
                if s.proc is not None:
                    await s.proc.kill()

    @staticmethod
    async def _all_done(tasks: Sequence[asyncio.Task[None]], deadline: float) -> None:
        # asyncio.wait, not wait_for(gather(...)): cancelling this must not leave a gathering
        # future whose CancelledError nobody retrieves (logged as an error at exit)
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=deadline)
        if pending:
            raise TimeoutError(f"{len(pending)} supervised process(es) still running after {deadline:.0f}s")
        for t in tasks:
            t.result()

    async def _reach(self, goal: int, progress: Callable[[], Awaitable[int]]) -> None:
        while True:
            try:
                if await progress() >= goal:
                    self.note(f"goal of {goal} reached")
                    return
            except Exception:  # noqa: BLE001 - the database may be restarting
                pass
            await asyncio.sleep(0.5)

    async def _watch(self, slot: Slot) -> None:
        while True:
            assert slot.proc is not None
            rc = await slot.proc.popen.wait()
            if rc == 0 and not slot.proc.killed:
                slot.done = True
                self.note(f"{slot.name} finished")
                return
            if not slot.proc.killed:
                slot.failures += 1
                self.note(f"{slot.name} exited {rc}")
            await asyncio.sleep(self.restart_delay)
            await self._start(slot)

    async def _killer(self, every: tuple[float, float]) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(*every))
            live = [s for s in self.slots if not s.done and s.proc is not None and s.proc.running]
            if not live:
                continue
            victim = self.rng.choice(live)
            assert victim.proc is not None
            await victim.proc.kill()
            victim.kills += 1
            self.kills += 1
            self.note(f"SIGKILL {victim.name} pid {victim.proc.pid}")

    async def _pg_restarter(self, pg: PgCluster, after: Sequence[int], progress: Callable[[], Awaitable[int]]) -> None:
        for threshold in sorted(after):
            while True:
                try:
                    if await progress() >= threshold:
                        break
                except Exception:  # noqa: BLE001 - the database may be restarting or busy
                    pass
                if self.finished:
                    return
                await asyncio.sleep(0.25)
            self.note(f"PostgreSQL restart (progress >= {threshold})")
            await asyncio.get_running_loop().run_in_executor(None, pg.restart)
            self.pg_restarts += 1
            self.note("PostgreSQL back")


@contextlib.asynccontextmanager
async def pg_guard(pg: PgCluster) -> AsyncIterator[PgCluster]:
    """Whatever happens inside, PostgreSQL is running again afterwards."""
    try:
        yield pg
    finally:
        await asyncio.get_running_loop().run_in_executor(None, pg.ensure_running)


async def sql_scalar(database_url: str, sql: str, **params: Any) -> Any:
    from inbox.storage.engine import create_engine
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()
