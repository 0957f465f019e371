"""API/web load benchmark: N stored mentions, ingest running at --ingest-rate mentions/s, and an
open-loop load of --rate requests/s (60% queue pages, 10% searches, 20% item pages, 10% claim/resolve) against
ONE server process. Prints p50/p99 latency (measured from each request's scheduled start, so a
slow server cannot hide its queueing), errors, the server's CPU per request and the load average,
on SQLite and on PostgreSQL, then a summary line with pass/fail per target.

    python bench/api.py                          # the acceptance run: 1,000,000 mentions, both back ends
    python bench/api.py --db sqlite --mentions 50000 --duration 20       # a quick look
    python bench/api.py --db postgres --seed-only                        # seed, keep, print the URL
    python bench/api.py --explain --db-url URL   # plans of every hot query on a seeded database
    python bench/api.py --db sqlite --reuse URL  # load an already seeded database again

Seeding writes the stored history straight into the tables (see "seeding" below): about a minute
per million mentions on SQLite, 1.5 minutes on PostgreSQL; the live ingest during the load goes
through the real pipeline. The first --warmup seconds of load are not recorded.
BENCH_API_PROFILE=FILE makes the server dump a cProfile of its loop thread to FILE.

PostgreSQL: a fresh database on --pg (default postgresql://postgres@127.0.0.1:5432), dropped after.
The server runs in a child process (`--serve`), the load generator in this one."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.base import Mention  # noqa: E402
from inbox.domain.types import Prediction  # noqa: E402

TEAMS = ("customer_care", "marketing")
PASSWORD = "bench-password-123"
AGENTS = 20


class FastClassifier:
    """Keyword stand-in for the model: the benchmark measures the service, not scikit-learn."""

    version = "bench-1"
    labels = ["customer_care", "hr", "marketing", "pr"]

    def predict(self, texts: list[str]) -> list[Prediction]:
        out = []
        for t in texts:
            lab = "marketing" if "love" in t else "hr" if "job" in t else "pr" if "press" in t else "customer_care"
            out.append(Prediction(lab, 0.9, {k: (0.9 if k == lab else 0.1 / 3) for k in self.labels}))
        return out


_TEXTS = ["my order {i} arrived broken, refund please", "I love the new offer {i}", "job opening {i}?",
          "press question {i} for the CEO", "order {i} late again, help"]


def _search_query(rng: random.Random) -> str:
    """What agents type in the search box: an order number, an author, a phrase with a number, a
    prefix, and one common word (a fifth of the corpus holds it: ranking them all is the worst case)."""
    n = rng.randrange(1_000_000)
    return rng.choice([f"order {n}", f"user{n % 5000}", f'"arrived broken" {n}', f"refu* {n}", "refund"])


def mention(i: int, tag: str) -> Mention:
    return Mention(source="bench", platform="mastodon", external_id=f"{tag}-{i}", language="en",
                   text=_TEXTS[i % len(_TEXTS)].format(i=i), author_handle=f"user{i % 5000}",
                   url=f"https://social.example/@u/{i}")


def settings_for(url: str, tmp: Path) -> Any:
    from inbox.settings import load_settings
    return load_settings(ROOT / "config" / "inbox.toml", {"database_url": url, "model_dir": str(tmp / "models"),
                                                          "log_level": "warning", "db_pool_size": 10})


# seeding ----------------------------------------------------------------------------------
#
# The stored history is written straight into the tables (COPY on PostgreSQL, executemany on
# SQLite): a mention, its routing decision (the real Router's, for the template text), its queue
# item and a "routed" audit event per row, as the pipeline would store them. It bypasses language
# detection, classification and per-batch deduplication, for speed only (the pipeline seeds ~550
# mentions/s, half an hour for a million); the live ingest during the load goes through the real
# pipeline. Mentions come in threads of five (the first is the root), so item pages look threads up.

_M_COLS = ("id", "source", "platform", "external_id", "url", "author_handle", "text", "lang", "created_at",
           "fetched_at", "reply_to_id", "thread_id", "metrics", "is_repost", "deleted", "cluster_key", "copy_key")
_D_COLS = ("id", "mention_id", "team", "label", "confidence", "probabilities", "model_version", "rule", "reason",
           "watchers", "priority", "action", "explanation", "created_at")
_I_COLS = ("id", "team", "status", "priority", "label", "confidence", "watchers", "first_response_due",
           "resolve_due", "first_touched_at", "resolved_at", "breached_first_response", "breached_resolution",
           "transfers", "bounces", "created_at", "updated_at")
_E_COLS = ("id", "item_id", "kind", "actor", "team", "data", "created_at")
SEED_CHUNK = 50_000
SPACING = timedelta(seconds=2)   # one stored mention every 2 s: a million spans 23 days
OPEN_SHARE = 0.02                # the newest 2% are still open (new); the rest resolved


def _templates(settings: Any, now: datetime) -> list[tuple[Any, tuple[timedelta, timedelta] | None]]:
    """The real router's decision for each template text, and its team's SLA offsets."""
    from inbox.domain import sla_calendar
    from inbox.domain.router import MentionFacts, Router
    router = Router(settings.routing, settings.rules, settings.private_teams)
    preds = FastClassifier().predict([t.format(i=0) for t in _TEXTS])
    out = []
    for t, p in zip(_TEXTS, preds, strict=True):
        d = router.decide(MentionFacts(text=t.format(i=0), source="bench", platform="mastodon", author="user0",
                                       lang="en", reach=None), p)
        due = None
        if d.team is not None:
            f, r = sla_calendar.due_times(now, settings.team(d.team))
            due = ((f - now) if f else timedelta(0), (r - now) if r else timedelta(0))
        out.append((d, due))
    return out


def _seed_rows(lo: int, hi: int, n: int, now: datetime, tpl: list[Any], json_out: Any,
               dt_out: Any) -> tuple[list[tuple[Any, ...]], ...]:
    from inbox.domain.near_duplicates import keys
    mrows, drows, irows, erows = [], [], [], []
    open_from = int(n * (1 - OPEN_SHARE))
    empty = json_out({})
    for i in range(lo, hi):
        k = i % len(_TEXTS)
        d, due = tpl[k]
        mid = i + 1
        created = now - SPACING * (n - i)
        text = _TEXTS[k].format(i=i)
        root = f"seed-{i - i % 5}"
        c = dt_out(created)
        mrows.append((mid, "bench", "mastodon", f"seed-{i}", f"https://social.example/@u/{i}", f"user{i % 5000}",
                      text, "en", c, c, root if i % 5 else None, root, empty, False, False, *keys(text)))
        drows.append((mid, mid, d.team, d.label, d.confidence, json_out(d.probabilities), d.model_version, d.rule,
                      d.reason, json_out(d.watchers), d.priority, d.action, json_out(d.explanation), c))
        if d.team is None or d.action == "repost":
            continue
        resolved = i < open_from
        done = dt_out(created + timedelta(minutes=20)) if resolved else None
        irows.append((mid, d.team, "resolved" if resolved else ("spam" if d.action == "spam" else "new"),
                      d.priority, d.label, d.confidence, json_out(d.watchers), dt_out(created + due[0]),
                      dt_out(created + due[1]), done, done, False, False, 0, 0, c, done or c))
        erows.append((mid, mid, "routed", "router", d.team,
                      json_out({"rule": d.rule, "label": d.label, "priority": d.priority, "watchers": d.watchers,
                                "action": d.action}), c))
    return mrows, drows, irows, erows


async def _bulk_load(engine: Any, settings: Any, n: int, now: datetime) -> None:
    """Write n mentions with their decisions, items and events (see the section comment)."""
    import orjson

    pg = engine.dialect.name == "postgresql"
    tpl = _templates(settings, now)

    def js(v: Any) -> str | None:
        return None if v is None else orjson.dumps(v).decode()
    def sqlite_dt(v: datetime | None) -> str | None:  # SQLAlchemy's storage format for SQLite DATETIME
        return None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    dt_out: Any = (lambda v: v) if pg else sqlite_dt
    tables = (("mention", _M_COLS), ("routing_decision", _D_COLS), ("queue_item", _I_COLS), ("event", _E_COLS))
    t0 = time.perf_counter()
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        if not pg:
            await conn.exec_driver_sql("PRAGMA cache_size=-400000")  # 400 MB for the index builds
        for lo in range(0, n, SEED_CHUNK):
            batches = _seed_rows(lo, min(n, lo + SEED_CHUNK), n, now, tpl, js, dt_out)
            for (name, cols), rows in zip(tables, batches, strict=True):
                if not rows:
                    continue
                if pg:
                    await raw.copy_records_to_table(name, records=rows, columns=list(cols))
                else:
                    await conn.exec_driver_sql(
                        f'INSERT INTO "{name}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})', rows)
            done = min(n, lo + SEED_CHUNK)
            if done % 200_000 == 0 or done == n:
                print(f"  seeded {done:,} ({done / (time.perf_counter() - t0):,.0f}/s)", file=sys.stderr)
        if pg:
            for name in ("mention", "routing_decision", "event"):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
    if pg:  # what autovacuum would do soon after a load this size
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")


async def seed(url: str, tmp: Path, n: int, via_pipeline: bool = False) -> dict[str, Any]:
    from sqlalchemy import update

    from inbox.domain import credentials
    from inbox.ingest.classifier import ClassifierHolder
    from inbox.ops.services import Services
    from inbox.storage import migrate
    from inbox.storage.repo import accounts
    from inbox.storage.repo._common import T_ITEM
    settings = settings_for(url, tmp)
    svc = await Services.open(settings)
    try:
        await migrate.upgrade(svc.engine)
        now = svc.clock.now()
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=now)
            pw = credentials.hash_password(PASSWORD)
            tokens = {}
            for a in range(AGENTS):
                u = await accounts.add_user(f"agent{a}", "agent", [TEAMS[a % 2]], pw, conn=conn, now=now,
                                            capacity=1000)
                tok = credentials.new_token()
                await accounts.add_token(u.id, credentials.token_hash(tok), conn=conn, now=now)
                tokens[u.name] = tok
        t0 = time.perf_counter()
        if not via_pipeline:
            await _bulk_load(svc.engine, settings, n, now)
            return {"tokens": tokens, "seed_seconds": time.perf_counter() - t0}
        svc.classifier = ClassifierHolder(FastClassifier())
        pipe = await svc.ready_pipeline()
        batch = 2000
        for start in range(0, n, batch):
            await pipe.ingest([mention(i, "seed") for i in range(start, min(n, start + batch))], log_event="bench_seed")
            if start and start % 100_000 == 0:
                print(f"  seeded {start:,} ({start / (time.perf_counter() - t0):,.0f}/s)", file=sys.stderr)
        seed_s = time.perf_counter() - t0
        # history is mostly done work: all but the newest 2% resolved (one bulk statement, bench only)
        async with svc.engine.begin() as conn:
            await conn.execute(update(T_ITEM).where(T_ITEM.c.id <= int(n * (1 - OPEN_SHARE)))
                               .values(status="resolved", resolved_at=now, first_touched_at=now))
        return {"tokens": tokens, "seed_seconds": seed_s}
    finally:
        await svc.close()


async def fresh_tokens(url: str, tmp: Path) -> dict[str, Any]:
    """New API tokens for the agents of an already seeded database (--reuse), and how many mentions
    it holds."""
    from sqlalchemy import func, select

    from inbox.domain import credentials
    from inbox.ops.services import Services
    from inbox.storage import migrate
    from inbox.storage.repo import accounts
    from inbox.storage.repo._common import T_MENTION
    svc = await Services.open(settings_for(url, tmp))
    try:
        await migrate.upgrade(svc.engine)
        tokens = {}
        async with svc.engine.begin() as conn:
            for a in range(AGENTS):
                u = await accounts.get_user(f"agent{a}", conn=conn)
                assert u is not None, "not a bench database"
                tokens[u.name] = tok = credentials.new_token()
                await accounts.add_token(u.id, credentials.token_hash(tok), conn=conn, now=svc.clock.now())
            stored = int((await conn.execute(select(func.count()).select_from(T_MENTION))).scalar_one())
        return {"tokens": tokens, "seed_seconds": 0.0, "mentions": stored}
    finally:
        await svc.close()


# the server process ----------------------------------------------------------------------

async def serve(url: str, port: int, ingest_rate: float) -> None:
    from aiohttp import web

    from inbox.ingest.classifier import ClassifierHolder
    from inbox.ops.logs import configure_logging
    from inbox.ops.services import Services
    from inbox.web.app import create_app
    configure_logging("warning")
    tmp = Path(tempfile.mkdtemp())
    settings = settings_for(url, tmp)
    svc = await Services.open(settings)
    svc.classifier = ClassifierHolder(FastClassifier())
    await svc.ready_pipeline()
    app = create_app(settings, role="web", services=svc)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()

    async def ingest_loop() -> None:
        """ingest_rate mentions/s in 10 batches a second, on the server's own loop and process."""
        tag, i = uuid.uuid4().hex[:6], 0
        per = max(1, round(ingest_rate / 10))
        next_t = time.perf_counter()
        while not stop.is_set():
            assert svc.pipeline is not None
            await svc.pipeline.ingest([mention(i + k, "live" + tag) for k in range(per)], log_event="bench_ingest")
            i += per
            next_t += per / ingest_rate
            await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
    task = asyncio.create_task(ingest_loop()) if ingest_rate > 0 else None
    profile = None
    if os.environ.get("BENCH_API_PROFILE"):  # cProfile of the server's loop thread, dumped at exit
        import cProfile
        profile = cProfile.Profile()
        profile.enable()
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["BENCH_API_PROFILE"])
    stop.set()
    if task:
        task.cancel()
    await runner.cleanup()
    await svc.close()


# query plans -------------------------------------------------------------------------------

async def explain(url: str) -> None:
    """Run each hot path once on a seeded database, capture its SQL as executed, and print the plan
    (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS); SQLite: EXPLAIN QUERY PLAN and the time of a second run).
    Writes (claim, resolve) run in transactions that are rolled back."""
    from sqlalchemy import event, select

    from inbox.ops.services import Services
    from inbox.storage.repo import accounts, items, page_reads, queue_rows, websessions
    from inbox.storage.repo._common import T_ITEM, T_TOKEN, T_USER
    from inbox.storage.tables import ItemStatus
    tmp = Path(tempfile.mkdtemp())
    svc = await Services.open(settings_for(url, tmp))
    engine = svc.engine
    pg = engine.dialect.name == "postgresql"
    captured: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "WITH")):
            captured.append((statement, parameters))
    now = svc.clock.now()
    async with engine.connect() as conn:
        team = "customer_care"
        user_id = (await conn.execute(select(T_USER.c.id).where(T_USER.c.name == "agent0"))).scalar_one()
        open_id = (await conn.execute(select(T_ITEM.c.id).where(T_ITEM.c.team == team, T_ITEM.c.status == "new")
                                      .order_by(T_ITEM.c.id.desc()).limit(1))).scalar_one()
        thash = (await conn.execute(select(T_TOKEN.c.token_hash).where(T_TOKEN.c.user_id == user_id,
                                                                   T_TOKEN.c.label == "").limit(1))).scalar_one()
    sess = "explain-" + uuid.uuid4().hex
    async with engine.connect() as conn:
        await websessions.create_session(user_id, sess, conn=conn, now=now)
        await conn.commit()

    async def hot(name: str, conn: Any) -> None:
        mention = await items.mention_row(open_id, conn=conn) or {}
        work: dict[str, Any] = {
            "bearer token -> user": lambda: accounts.user_by_token(thash, conn=conn),
            "session -> user": lambda: websessions.session_user(
                sess, user_id, conn=conn, now=now, idle=timedelta(hours=8), lifetime=timedelta(days=7)
            ),
            "queue page (new, 51)": lambda: conn.run_sync(
                queue_rows.queue_rows_sync, team, statuses=(ItemStatus.NEW,), limit=51
            ),
            "queue page offset 5000": lambda: conn.run_sync(
                queue_rows.queue_rows_sync, team, statuses=(ItemStatus.NEW,), limit=51, offset=5000
            ),
            "queue API page (new, 51)": lambda: page_reads.queue_page(
                team, conn=conn, statuses=(ItemStatus.NEW,), limit=51
            ),
            "my items": lambda: conn.run_sync(queue_rows.my_queue_rows_sync, user_id, team),
            "team counts": lambda: page_reads.team_counts(team, conn=conn, now=now),
            "queue overview": lambda: page_reads.queue_overview(conn=conn, now=now),
            "item (visible to teams)": lambda: items.get_item(open_id, conn=conn, teams=[team]),
            "item events": lambda: items.events_for(open_id, conn=conn),
            "item decision": lambda: items.decision_for(open_id, conn=conn),
            "item mention": lambda: items.mention_row(open_id, conn=conn),
            "item thread": lambda: conn.run_sync(
                queue_rows.thread_rows_sync, open_id, mention.get("thread_id"), mention.get("reply_to_id"), "bench",
                teams=[team]
            ),
            "claim: open claims": lambda: conn.run_sync(items.open_claims_sync, user_id, now),
            "claim: next": lambda: conn.run_sync(
                items.claim_next_sync, team, user_id=user_id, owner="x", now=now,
                lease_until=now + timedelta(minutes=30)),
            "resolve: lock item": lambda: items.lock_item(open_id, conn=conn),
            "resolve: update": lambda: items.update_item(
                open_id, {"status": "resolved", "resolved_at": now, "updated_at": now}, conn=conn
            ),
            "item after change (no filter)": lambda: items.get_item(open_id, conn=conn),
        }
        fn = work[name]
        await fn()  # warm: statement cache, buffers
        captured.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", grab)
        try:
            await fn()
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", grab)

    names = ["bearer token -> user", "session -> user", "queue page (new, 51)", "queue page offset 5000",
             "queue API page (new, 51)", "my items",
             "team counts", "queue overview", "item (visible to teams)", "item events", "item decision",
             "item mention", "item thread", "claim: open claims", "claim: next", "resolve: lock item",
             "resolve: update", "item after change (no filter)"]
    for name in names:
        async with engine.connect() as conn:
            await conn.begin()
            await hot(name, conn)
            stmts = list(captured)
            print(f"\n=== {name}: {len(stmts)} statement(s)")
            for sql, params in stmts:
                print("--- " + " ".join(sql.split())[:300])
                t = time.perf_counter()
                await conn.exec_driver_sql(sql, params)
                ms = (time.perf_counter() - t) * 1000
                if pg:
                    plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    print("\n".join("    " + r[0] for r in plan))
                else:
                    plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
                    print("\n".join(f"    {r[1]:>3} {r[3]}" for r in plan))
                print(f"    client round trip {ms:.2f} ms")
            await conn.rollback()
    await svc.close()


async def sign_in(s: Any, base: str, name: str) -> None:
    """Sign ``name`` in on the aiohttp session ``s`` (relative URLs on ``base``) as a browser does."""
    async with s.get("/login") as r:
        tok = re.search(r'name="_csrf" value="([^"]+)"', await r.text())
        assert tok is not None
    async with s.post("/login", data={"name": name, "password": PASSWORD, "_csrf": tok.group(1)},
                      headers={"Origin": base}, allow_redirects=False) as r:
        assert r.status == 303, r.status


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far (Linux /proc; zeros elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0


def _cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


# the load generator -----------------------------------------------------------------------

@dataclass
class Stats:
    lat: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    late: int = 0
    server_cpu: float = 0.0  # CPU seconds of the server process over the measured window
    client_cpu: float = 0.0
    windows: dict[int, list[float]] = field(default_factory=dict)  # 10 s window -> latencies

    def add(self, kind: str, seconds: float, ok: bool, offset: float = 0.0) -> None:
        self.lat.setdefault(kind, []).append(seconds)
        if "skipped" not in kind:
            self.windows.setdefault(int(offset // 10), []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))] if s else float("nan")


async def load(base: str, tokens: dict[str, str], rate: float, duration: float, timeout: float = 30,
               warmup: float = 0.0, server_pid: int | None = None) -> Stats:
    """Open-loop load for warmup + duration seconds; only the requests scheduled after the warm-up
    (statement caches, template compilation, the first page-cache misses) are recorded."""
    import aiohttp
    stats = Stats()
    warm = Stats()
    names = sorted(tokens)
    sessions: dict[str, aiohttp.ClientSession] = {}
    conn = aiohttp.TCPConnector(limit=400)
    for n in names:  # a browser session per agent for the HTML pages
        s = aiohttp.ClientSession(base_url=base, connector=conn, connector_owner=False,
                                  cookie_jar=aiohttp.CookieJar(unsafe=True),
                                  timeout=aiohttp.ClientTimeout(total=timeout))  # a timeout is an error
        await sign_in(s, base, n)
        sessions[n] = s
    recent: dict[str, list[int]] = {t: [] for t in TEAMS}
    claimed: dict[str, list[int]] = {n: [] for n in names}
    rng = random.Random(1)

    async def one(kind: str, agent: str, scheduled: float) -> None:
        s = sessions[agent]
        team = TEAMS[int(agent[5:]) % 2]
        auth = {"Authorization": f"Bearer {tokens[agent]}"}
        ok = False
        try:
            if kind == "queue":
                async with s.get(f"/queues/{team}") as r:
                    body = await r.text()
                    ok = r.status == 200
                    ids = [int(x) for x in re.findall(r'data-item-id="(\d+)"', body)[:50]]
                    if ids:
                        recent[team] = ids
            elif kind == "item":
                ids = recent[team]
                if not ids:
                    kind = "item(skipped)"
                    ok = True
                else:
                    async with s.get(f"/items/{rng.choice(ids)}") as r:
                        await r.read()
                        ok = r.status == 200
            elif kind == "search":
                async with s.get("/api/v1/search", params={"q": _search_query(rng), "limit": "20"}, headers=auth) as r:
                    await r.read()
                    ok = r.status == 200
            elif kind == "claim":
                async with s.post(f"/api/v1/queues/{team}/claim", headers=auth) as r:
                    d = await r.json()
                    ok = r.status == 200
                    if d.get("item"):
                        claimed[agent].append(d["item"]["id"])
            elif kind == "resolve":
                if not claimed[agent]:
                    kind, ok = "resolve(skipped)", True
                else:
                    async with s.post(f"/api/v1/items/{claimed[agent].pop()}/resolve", headers=auth, json={}) as r:
                        await r.read()
                        ok = r.status == 200
        except Exception:  # noqa: BLE001 - counted as an error
            ok = False
        offset = scheduled - t0 - warmup
        (stats if offset >= 0 else warm).add(kind, time.perf_counter() - scheduled, ok, offset)

    tasks = []
    marks: dict[str, tuple[float, float]] = {}

    def mark(name: str) -> None:
        marks[name] = (_cpu_seconds(server_pid) if server_pid else 0.0, time.process_time())
    t0 = time.perf_counter() + 0.2
    total = int(rate * (duration + warmup))
    for i in range(total):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05 and i >= rate * warmup:
            stats.late += 1
        if i == int(rate * warmup):
            mark("start")
        x = rng.random()
        kind = "queue" if x < 0.60 else "search" if x < 0.70 else "item" if x < 0.90 else "claim" if x < 0.95 \
            else "resolve"
        tasks.append(asyncio.create_task(one(kind, names[i % len(names)], at)))
    await asyncio.gather(*tasks)
    mark("end")
    stats.server_cpu = marks["end"][0] - marks["start"][0]
    stats.client_cpu = marks["end"][1] - marks["start"][1]
    for s in sessions.values():
        await s.close()
    await conn.close()
    return stats


def report(name: str, n: int, stats: Stats, seed_s: float, duration: float) -> dict[str, Any]:
    everything = [v for k, vs in stats.lat.items() if "skipped" not in k for v in vs]
    out: dict[str, Any] = {
        "db": name,
        "mentions": n,
        "seed_seconds": round(seed_s, 1),
        "requests": len(everything),
        # offered load: every scheduled request, also those skipped for want of an id
        "achieved_rps": round(sum(map(len, stats.lat.values())) / duration, 1),
        "p50_ms": round(pct(everything, 50) * 1000, 1),
        "p99_ms": round(pct(everything, 99) * 1000, 1),
        "errors": sum(stats.errors.values()),
        "generator_late": stats.late,
        "by_kind": {},
    }
    for k, vs in sorted(stats.lat.items()):
        out["by_kind"][k] = {"n": len(vs), "p50_ms": round(pct(vs, 50) * 1000, 1),
                             "p99_ms": round(pct(vs, 99) * 1000, 1), "errors": stats.errors.get(k, 0)}
    out["p99_ms_per_10s"] = [round(pct(vs, 99) * 1000, 1) for _, vs in sorted(stats.windows.items())]
    return out


async def run_one(db: str, args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg
    tmp = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    dbname = None
    if args.reuse:
        url = args.reuse
    elif db == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    else:
        dbname = "si_bench_" + uuid.uuid4().hex[:8]
        admin = await asyncpg.connect(args.pg + "/postgres")
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await admin.close()
        url = args.pg.replace("postgresql://", "postgresql+asyncpg://") + "/" + dbname
    try:
        if args.reuse:
            seeded = await fresh_tokens(url, tmp)
        else:
            print(f"[{db}] seeding {args.mentions:,} mentions ...", file=sys.stderr)
            seeded = await seed(url, tmp, args.mentions, args.seed_via_pipeline)
        if args.seed_only:
            print(json.dumps({"db": db, "url": url, "seed_seconds": round(seeded["seed_seconds"], 1)}))
            return {}
        port = args.port or (20000 + random.randrange(20000))
        proc = subprocess.Popen([sys.executable, __file__, "--serve", "--db-url", url, "--port", str(port),
                                 "--ingest-rate", str(args.ingest_rate),
                                 *(["--asyncio-loop"] if args.asyncio_loop else [])], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
            if "READY" not in line:
                raise RuntimeError("the server did not start")
            print(f"[{db}] load: {args.rate}/s for {args.duration}s, ingest {args.ingest_rate}/s", file=sys.stderr)
            stats = await load(f"http://127.0.0.1:{port}", seeded["tokens"], args.rate, args.duration, args.timeout,
                               args.warmup, proc.pid)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        # a reused database holds what it was seeded with (and the live ingest of earlier runs)
        r = report(db, seeded.get("mentions", args.mentions), stats, seeded["seed_seconds"], args.duration)
        n_req = sum(len(v) for v in stats.windows.values()) or 1
        # CPU per request over the measured window (the live ingest's share included): a figure the
        # other load on a shared machine changes much less than the latencies
        r["server_cpu_ms_per_request"] = round(stats.server_cpu * 1000 / n_req, 2)
        r["server_cpu_share"] = round(stats.server_cpu / args.duration, 2)
        # the rate one process could serve if it had a core to itself: the ceiling before queueing
        r["cpu_bound_max_rps"] = (
            round(1000 / r["server_cpu_ms_per_request"]) if r["server_cpu_ms_per_request"] else None
        )
        r["loadgen_cpu_ms_per_request"] = round(stats.client_cpu * 1000 / n_req, 2)
        r["loadavg_1m"] = os.getloadavg()[0]
        return r
    finally:
        if dbname and not args.seed_only and not args.reuse:
            admin = await asyncpg.connect(args.pg + "/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            await admin.close()
        if not args.seed_only:
            shutil.rmtree(tmp, ignore_errors=True)  # a million-mention SQLite file is 1.4 GB


TARGETS = {"p50_ms": 15.0, "p99_ms": 100.0, "errors": 0}


def verdict(r: dict[str, Any], rate: float) -> dict[str, bool]:
    """Pass/fail per target of the acceptance point, plus whether the load was really offered."""
    return {"p50_ms<=15": r["p50_ms"] <= TARGETS["p50_ms"], "p99_ms<=100": r["p99_ms"] <= TARGETS["p99_ms"],
            "no_errors": r["errors"] == TARGETS["errors"],
            "rate_offered": r["achieved_rps"] >= 0.98 * rate and r["generator_late"] <= 0.01 * r["requests"],
            **_search_verdict(r)}


SEARCH_TARGETS = {"p50_ms": 20.0, "p99_ms": 100.0}


def _search_verdict(r: dict[str, Any]) -> dict[str, bool]:
    """The search target (issue 21): p50 <= 20 ms and p99 <= 100 ms for the searches of the mix."""
    s = r.get("by_kind", {}).get("search")
    if not s:
        return {}
    return {"search_p50_ms<=20": s["p50_ms"] <= SEARCH_TARGETS["p50_ms"],
            "search_p99_ms<=100": s["p99_ms"] <= SEARCH_TARGETS["p99_ms"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mentions", type=int, default=1_000_000)
    p.add_argument("--rate", type=float, default=200, help="requests per second (open loop)")
    p.add_argument("--ingest-rate", type=float, default=200, help="mentions per second ingested meanwhile")
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring (not recorded)")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--pg", default=os.environ.get("INBOX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432"))
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as an error")
    p.add_argument("--seed-via-pipeline", action="store_true",
                   help="seed through the ingest pipeline (classifier stand-in, slow) instead of bulk rows")
    p.add_argument("--reuse", metavar="URL", help="load test an already seeded database (no seeding, not dropped)")
    p.add_argument("--seed-only", action="store_true", help="seed, keep the database, print its URL, stop")
    p.add_argument("--explain", action="store_true",
                   help="print the plans of the hot queries on an existing seeded database (--db-url)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db-url", help=argparse.SUPPRESS)
    p.add_argument("--asyncio-loop", action="store_true",
                   help="serve on asyncio's own event loop instead of the one `social-inbox serve` uses (uvloop)")
    args = p.parse_args()
    from inbox.ops.logs import configure_logging
    configure_logging("warning")
    if args.explain:
        asyncio.run(explain(args.db_url))
        return
    if args.serve:
        from inbox.cli import event_loop_factory  # the loop `social-inbox serve` runs on
        factory = None if args.asyncio_loop else event_loop_factory()
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(serve(args.db_url, args.port, args.ingest_rate))
        return
    started = time.perf_counter()
    results = {}
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        r = asyncio.run(run_one(db, args))
        if args.seed_only:
            continue
        r["targets"] = verdict(r, args.rate)
        r["pass"] = all(r["targets"].values())
        results[db] = r
        print(json.dumps(r))
        print(f"{db:>8}: {r['mentions']:,} mentions, {r['requests']} requests at {r['achieved_rps']}/s: "
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}, server CPU "
              f"{r['server_cpu_ms_per_request']} ms/request, load average {r['loadavg_1m']:.1f}: "
              f"{'PASS' if r['pass'] else 'FAIL'}", file=sys.stderr)
    if results:
        print(json.dumps({"summary": {db: {k: r[k] for k in ("p50_ms", "p99_ms", "errors", "achieved_rps", "pass",
                                                              "targets", "server_cpu_ms_per_request",
                                                              "cpu_bound_max_rps", "loadavg_1m")}
                                      for db, r in results.items()},
                          "rate": args.rate, "ingest_rate": args.ingest_rate,
                          "mentions": {db: r["mentions"] for db, r in results.items()},
                          "duration": args.duration, "wall_seconds": round(time.perf_counter() - started),
                          "pass": all(r["pass"] for r in results.values())}))


if __name__ == "__main__":
    main()
