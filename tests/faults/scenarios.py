"""The process-level fault scenarios, parametrised by size: the CI tests in tests/faults run them
small, ``bench/faults.py`` runs them at full size. Each returns a report of what was done (kills,
restarts) and what the database holds afterwards (the exactly-once ledger)."""
from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from connectors.replay import REPLAY_STORE, SAMPLES_DIR, create_replay_app
from connectors.testing import fresh_items, sample_settings
from tests.faults.harness import (
    Agent,
    PgCluster,
    Slot,
    Supervisor,
    free_port,
    ledger,
    pg_guard,
    prepare_database,
    spawn,
    sql_scalar,
    wait_for,
    write_config,
)

__all__ = ["CrashReport", "crash_recovery", "InstancesReport", "instances_under_fire", "make_shards",
           "POLL_POINTS", "CLAIM_POINTS"]

POLL_POINTS = ("after_fetch", "after_classify", "before_commit")
CLAIM_POINTS = ("claim_before_commit", "claim_held")
KILL_KINDS = POLL_POINTS + CLAIM_POINTS + ("random",)
FRESH_PLATFORMS = ("mastodon", "bluesky", "reddit", "hackernews", "x", "youtube")


def connectors_toml(base: str, *, interval: str) -> str:
    """The bundled-sample connectors of `social-inbox demo`, as TOML tables, polling ``base``."""
    out = []
    for c in sample_settings(base):
        c = {**c, "interval": interval}
        out.append("[[connectors]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in c.items()))
    return "\n".join(out)


class Control:
    """A clean instance (in-process, keyword classifier: routing does not change which mentions
    exist) that polls the same replay server on a SQLite file after every round: what it stores
    is what the crashed instances must store, exactly once."""

    def __init__(self, svc: Any, url: str) -> None:
        self.svc = svc
        self.url = url

    @classmethod
    async def open(cls, cfg: Path, workdir: Path) -> Control:
        from inbox.ingest.classifier import ClassifierHolder
        from inbox.ops.services import Services
        from inbox.settings import load_settings
        from inbox.storage import migrate
        from inbox.storage.repo import accounts
        from tests.conftest import KeywordClassifier
        url = f"sqlite+aiosqlite:///{workdir}/control.db"
        settings = load_settings(cfg, {"database_url": url, "log_level": "warning"})
        svc = await Services.open(settings)
        await migrate.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
        svc.classifier = ClassifierHolder(KeywordClassifier())
        return cls(svc, url)

    async def poll(self) -> None:
        """Poll every connector until nothing is new."""
        from inbox.ingest.poll import Poller
        async with Poller(self.svc) as poller:
            for _ in range(10):
                results = [await poller.poll(c) for c in self.svc.settings.connectors]
                bad = [r for r in results if not r.get("ok")]
                if bad:
                    raise RuntimeError(f"the control poll failed: {bad}")
                if all(r.get("ingested", 0) == 0 for r in results):
                    return

    async def keys(self) -> set[tuple[str, str]]:
        return (await ledger(self.url)).keys

    async def close(self) -> None:
        await self.svc.close()


async def _health(port: int, session: aiohttp.ClientSession) -> bool:
    try:
        async with session.get(f"http://127.0.0.1:{port}/api/v1/health",
                               timeout=aiohttp.ClientTimeout(total=2)) as r:
            return r.status == 200
    except (TimeoutError, aiohttp.ClientError, OSError):
        return False


async def _fullest_team(url: str) -> str | None:
    team = await sql_scalar(url, "SELECT team FROM queue_item WHERE status = 'new' GROUP BY team "
                                 "ORDER BY count(*) DESC, team LIMIT 1")
    return str(team) if team is not None else None


@dataclass
class ClaimCheck:
    item_id: int
    lease_expires_at: str
    reclaimed: bool            # another agent got it once its lease had run out
    returned_by_expiry: bool | None  # the lease-expiry job put it back (None: not run first)


@dataclass
class CrashReport:
    database: str
    kills: dict[str, int] = field(default_factory=dict)
    rollback_violations: list[str] = field(default_factory=list)  # a killed claim that committed anyway
    claim_checks: list[ClaimCheck] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)             # pause points a round never reached
    expected: int = 0
    ledger: dict[str, int] = field(default_factory=dict)
    final_polls: list[list[dict[str, Any]]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_kills(self) -> int:
        return sum(self.kills.values())

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["total_kills"] = self.total_kills
        return d


async def _claim_via_api(port: int, token: str, team: str, session: aiohttp.ClientSession) -> dict[str, Any]:
    async with session.post(f"http://127.0.0.1:{port}/api/v1/queues/{team}/claim",
                            headers={"Authorization": f"Bearer {token}"},
                            timeout=aiohttp.ClientTimeout(total=30)) as r:
        body = await r.json()
        if r.status != 200:
            raise RuntimeError(f"claim answered {r.status}: {body}")
        return body  # type: ignore[no-any-return]


async def _reclaim_check(url: str, settings: Any, agent: Agent, item_id: int, *, job_first: bool) -> ClaimCheck:
    """Once the dead holder's lease has run out the item is claimable by another agent (a real
    claim, repeated over the queue until the item comes back), whether or not the periodic
    lease-expiry job ran first (``job_first``: run it, and it must return the item)."""
    from inbox.ops.services import Services
    from inbox.storage.repo import accounts, items
    from inbox.work.item_actions import WorkService
    svc = await Services.open(settings)
    try:
        async with svc.engine.connect() as conn:
            row = await items.lock_item(item_id, conn=conn)
            user = await accounts.get_user(agent.id, conn=conn)
        assert row is not None and user is not None
        until: datetime = row["lease_expires_at"]
        wait = (until - datetime.now(UTC)).total_seconds() + 0.2
        if wait > 0:
            await asyncio.sleep(wait)
        work = WorkService(svc.engine, settings, svc.clock)
        returned = item_id in await work.expire_leases() if job_first else False
        got: list[int] = []
        reclaimed = False
        while True:
            item = await work.claim_next(user, row["team"])
            if item is None:
                break
            got.append(item.id)
            if item.id == item_id:
                reclaimed = True
                break
        for i in got:  # put the queue back as it was
            await work.release(user, i)
        return ClaimCheck(item_id, until.isoformat(), reclaimed, returned if job_first else None)
    finally:
        await svc.close()


async def crash_recovery(database_url: str, workdir: Path, *, kills: int, seed: int = 7, per_round: int = 2,
                         kinds: Sequence[str] = KILL_KINDS) -> CrashReport:
    """`serve` instances ingest from the replay server (new items published every round) and are
    SIGKILLed once per round at a pause point (poll, classify, commit, claim), or right after a
    committed claim, or at a random moment; then `poll --once` until quiet. The ledger compares
    the database with what a clean instance stores from the same server."""
    from inbox.settings import load_settings
    started = time.monotonic()
    rng = random.Random(seed)
    report = CrashReport(database=database_url.split(":", 1)[0])
    server = TestServer(create_replay_app(SAMPLES_DIR), host="127.0.0.1")
    await server.start_server()
    try:
        base = f"http://127.0.0.1:{server.port}"
        cfg = write_config(workdir / "crash.toml", server={"poll_lease": "3s", "claim_lease": "3s"},
                           connectors=connectors_toml(base, interval="1s"))
        settings = load_settings(cfg, {"database_url": database_url, "log_level": "warning"})
        agents = await prepare_database(settings, agents=("agent-a", "agent-b", "agent-k"))
        env = {"INBOX_DATABASE_URL": database_url, "INBOX_LOG_LEVEL": "info"}
        store = server.app[REPLAY_STORE]
        # both start from the same cursors: a first poll takes only the newest page of a source
        # (no back-fill of history), so it must happen at the same point for both
        control = await Control.open(cfg, workdir)
        await control.poll()
        warm = await spawn(["--config", str(cfg), "poll", "--once"], env=env, log=workdir / "warmup.log")
        if await warm.popen.wait() != 0:
            raise RuntimeError("the warm-up poll failed: " + warm.output())
        plan = [kinds[i % len(kinds)] for i in range(kills)]
        rng.shuffle(plan)
        # the first round must ingest something before anything can be claimed
        first_poll = next((i for i, k in enumerate(plan) if k in POLL_POINTS + ("random",)), None)
        if first_poll:
            plan.insert(0, plan.pop(first_poll))
        async with aiohttp.ClientSession() as http:
            for rnd, kind in enumerate(plan):
                now = datetime.now(UTC)
                for platform in FRESH_PLATFORMS:
                    store.add(platform, fresh_items(platform, per_round, now, tag=f"r{rnd}"))
                await control.poll()
                port = free_port()
                args = ["--config", str(cfg), "serve", "--role", "all", "--port", str(port)]
                pause = kind if kind in POLL_POINTS or kind == "claim_before_commit" else None
                proc = await spawn(args, env=env, log=workdir / f"round{rnd:02d}.log", pause_at=pause)
                try:
                    if kind in POLL_POINTS:
                        if not await proc.wait_marker():
                            report.unreached.append(f"round {rnd}: {kind}: {proc.output()[-800:]}")
                    else:
                        if not await wait_for(lambda port=port: _health(port, http), timeout=180):  # type: ignore[misc]
                            report.unreached.append(f"round {rnd}: {kind}: never healthy: {proc.output()[-800:]}")
                            continue
                        if kind == "random":
                            await asyncio.sleep(rng.uniform(0.0, 3.0))
                        else:
                            team = None
                            if await wait_for(lambda: _fullest_team(database_url), timeout=60):
                                team = await _fullest_team(database_url)
                            if team is None:
                                report.unreached.append(f"round {rnd}: {kind}: no item to claim")
                                continue
                            if kind == "claim_before_commit":
                                agent = agents["agent-k"]
                                task = asyncio.create_task(_claim_via_api(port, agent.token, team, http))
                                if not await proc.wait_marker():
                                    report.unreached.append(f"round {rnd}: {kind}: {proc.output()[-800:]}")
                                await proc.kill()
                                await asyncio.gather(task, return_exceptions=True)
                                held = await sql_scalar(database_url, "SELECT count(*) FROM queue_item "
                                                        "WHERE assignee_id = :a", a=agent.id)
                                if held:
                                    report.rollback_violations.append(f"round {rnd}: {held} item(s) claimed "
                                                                      "by a claim killed before its commit")
                            else:
                                body = await _claim_via_api(port, agents["agent-a"].token, team, http)
                                await proc.kill()
                                if body.get("item"):
                                    report.claim_checks.append(await _reclaim_check(
                                        database_url, settings, agents["agent-b"], int(body["item"]["id"]),
                                        job_first=len(report.claim_checks) % 2 == 0))
                finally:
                    await proc.kill()
                report.kills[kind] = report.kills.get(kind, 0) + 1
        # recovery: the dead instances' connector leases run out, then polls until nothing is new
        await asyncio.sleep(3.5)
        env_quiet = {**env, "INBOX_LOG_LEVEL": "warning"}
        for i in range(6):
            log = workdir / f"final{i}.log"
            p = await spawn(["--config", str(cfg), "poll", "--once"], env=env_quiet, log=log)
            await p.popen.wait()
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith('{"connector"')]
            report.final_polls.append([{k: r.get(k) for k in ("connector", "ok", "ingested", "error")} for r in lines])
            if lines and all(r.get("ok") and r.get("ingested", 0) == 0 for r in lines):
                break
        await control.poll()
        expected = await control.keys()
        await control.close()
        report.expected = len(expected)
        report.ledger = (await ledger(database_url, expected)).summary()
    finally:
        await server.close()
    report.seconds = round(time.monotonic() - started, 1)
    return report


# -- several instances on one PostgreSQL, killed and restarted, PostgreSQL restarted under them ---------------

def make_shards(n_mentions: int, instances: int, workdir: Path, *, seed: int = 11,
                overlap: bool = True) -> tuple[list[Path], set[tuple[str, str]]]:
    """JSON Lines shards of ``n_mentions`` distinct mentions (texts resampled from the seed corpus,
    unique ids). With ``overlap`` every mention is in two shards (shard k holds chunks k and k+1),
    so instances race on the same keys; rows are in a different order in each shard."""
    from routing_models.data import SEED_PATH
    texts = [json.loads(line) for line in Path(SEED_PATH).read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    rows = []
    for i in range(n_mentions):
        t = rng.choice(texts)
        rows.append({"id": f"m{i:07d}", "source": "load", "text": f"{t['text']} [{i}]", "lang": t.get("lang"),
                     "author": f"user{i % 997}", "created_at": "2026-11-20T10:00:00Z"})
    chunks = [rows[k::instances] for k in range(instances)]
    paths = []
    for k in range(instances):
        mine = chunks[k] + (chunks[(k + 1) % instances] if overlap and instances > 1 else [])
        rng.shuffle(mine)
        p = workdir / f"shard{k}.jsonl"
        p.write_text("".join(json.dumps(r) + "\n" for r in mine), encoding="utf-8")
        paths.append(p)
    return paths, {("load", r["id"]) for r in rows}


@dataclass
class InstancesReport:
    instances: int
    mentions: int
    kills: int = 0
    pg_restarts: int = 0
    starts: int = 0
    failed_exits: int = 0
    seconds: float = 0.0
    ledger: dict[str, int] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def instances_under_fire(database_url: str, workdir: Path, *, mentions: int, instances: int = 3,
                               kill_every: tuple[float, float] | None = (5.0, 15.0),
                               pg: PgCluster | None = None, pg_restarts: int = 0,
                               seed: int = 11, batch_size: int = 1000, deadline: float = 3600) -> InstancesReport:
    """``instances`` `social-inbox import` processes over overlapping shards of one load on one
    PostgreSQL, kept running by a supervisor (a killed or failed instance is restarted and imports
    its shard again: what is stored is skipped), while a random instance is SIGKILLed every
    ``kill_every`` seconds and PostgreSQL is restarted ``pg_restarts`` times, spread evenly over
    the load's progress (so that every restart hits a busy server whatever the machine's speed)."""
    from inbox.settings import load_settings
    shards, expected = make_shards(mentions, instances, workdir, seed=seed)
    cfg = write_config(workdir / "instances.toml")
    settings = load_settings(cfg, {"database_url": database_url, "log_level": "warning"})
    await prepare_database(settings, agents=())
    env = {"INBOX_DATABASE_URL": database_url, "INBOX_LOG_LEVEL": "warning"}
    # --no-refine: the load is about ingest under kills; the refiner's SKIP LOCKED takes are tested apart
    slots = [Slot(f"instance{k}", ["--config", str(cfg), "import", "--no-refine", str(p), "--batch-size",
                                   str(batch_size)], env)
             for k, p in enumerate(shards)]
    sup = Supervisor(slots, workdir, rng=random.Random(seed))

    async def stored() -> int:
        return int(await sql_scalar(database_url, "SELECT count(*) FROM mention"))

    after = [mentions * (i + 1) // (pg_restarts + 1) for i in range(pg_restarts)]
    started = time.monotonic()
    if pg is not None:
        async with pg_guard(pg):
            await sup.run(kill_every=kill_every, pg=pg, pg_restart_after=after, progress=stored, goal=mentions,
                          deadline=deadline)
    else:
        await sup.run(kill_every=kill_every, progress=stored, goal=mentions, deadline=deadline)
    report = InstancesReport(instances=instances, mentions=mentions, kills=sup.kills, pg_restarts=sup.pg_restarts,
                             starts=sum(s.starts for s in slots), failed_exits=sum(s.failures for s in slots),
                             seconds=round(time.monotonic() - started, 1), events=sup.events)
    report.ledger = (await ledger(database_url, expected)).summary()
    return report
