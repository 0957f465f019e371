"""Shared fixtures: settings on a temporary database (SQLite file or a fresh PostgreSQL database),
a fake clock, a fake classifier. PostgreSQL is the real server at 127.0.0.1:5432; under CI=true an
unreachable server fails the run instead of skipping."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# argon2's cheapest parameters for every password the tests hash, here and in the CLI subprocesses
# they start (the recommended ones cost about a tenth of a second per hash and per sign-in); set
# before inbox is imported. tests/unit/test_password_hashing.py checks the normal parameters.
os.environ.setdefault("INBOX_TEST_PASSWORD_HASHING", "cheapest")

from inbox.domain.clock import FakeClock  # noqa: E402
from inbox.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared").resolve()
PG_ADMIN_DSN = os.environ.get("INBOX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"


def shared_dir(sub: str) -> Path:
    """A folder of ../shared; fails under CI when missing, skips elsewhere."""
    p = SHARED / sub
    if not p.exists():
        if IN_CI:
            pytest.fail(f"{p} is missing but CI=true")
        pytest.skip(f"{p} not present")
    return p


async def _pg_available() -> str | None:
    import asyncpg
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_DSN), 5)
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"
    await conn.close()
    return None


_PG_PROBLEM: list[str | None] = []


def pg_or_skip() -> None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(asyncio.run(_pg_available()))
    problem = _PG_PROBLEM[0]
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_DSN} unreachable under CI=true: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")


async def create_pg_database(template: str | None = None) -> str:
    """A new database, empty or (``template``) a copy of that one."""
    import asyncpg
    name = "si_test_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        if template is None:
            await conn.execute(f'CREATE DATABASE "{name}"')
            return name
        for attempt in range(50):
            try:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return name
            except asyncpg.exceptions.ObjectInUseError:
                # the server has not yet ended the session that migrated the template
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return name


async def drop_pg_database(name: str) -> None:
    import asyncpg
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pg_url(dbname: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{dbname}"


# The schema at head, migrated once per test process and back end, for the databases that tests
# would migrate first anyway: a SQLite file to copy, a PostgreSQL database to use as a TEMPLATE.
_MIGRATED: dict[str, str] = {}


def _migrated_template(backend: str) -> str:
    """The path (SQLite) or database name (PostgreSQL) of a database that ``migrate.upgrade`` brought
    to head through the app's own engine, made on first use; no connection to it stays open."""
    if backend not in _MIGRATED:
        folder = Path(tempfile.mkdtemp(prefix="si-test-migrated-"))

        async def make() -> str:  # the schema only: no teams, no configuration, no model
            from inbox.ops.services import Services
            from inbox.storage import migrate as migrations
            if backend == "sqlite":
                target, url = str(folder / "inbox.db"), f"sqlite+aiosqlite:///{folder}/inbox.db"
            else:
                target = await create_pg_database()
                url = pg_url(target)
            svc = await Services.open(make_settings(url, folder))
            try:
                await migrations.upgrade(svc.engine)
            finally:
                await svc.close()
            return target
        _MIGRATED[backend] = _run_in_own_thread(make)
    return _MIGRATED[backend]


def _run_in_own_thread(fn: Callable[[], Coroutine[Any, Any, str]]) -> str:
    """``asyncio.run(fn())`` in a thread of its own: the caller may be inside a running event loop
    (a browser test's Playwright, an async test)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fn()).result()


@pytest.fixture(scope="session", autouse=True)
def _drop_migrated_templates() -> Iterator[None]:
    """Removes the migrated templates at the end of the test process."""
    yield
    for backend, target in _MIGRATED.items():
        if backend == "sqlite":
            shutil.rmtree(Path(target).parent, ignore_errors=True)
        else:
            async def drop(name: str = target) -> str:
                await drop_pg_database(name)
                return name
            _run_in_own_thread(drop)
    _MIGRATED.clear()


@contextmanager
def backend_url(backend: str, tmp: Path, *, migrated: bool = False) -> Iterator[str]:
    """A fresh database URL: ``"sqlite"`` a file in ``tmp``, ``"postgres"`` a new database on the
    real server, dropped afterwards (skips, or fails under CI, when it is unreachable). Empty, or
    (``migrated``, for callers that migrate it first anyway) a copy of the schema at head that
    ``migrate.upgrade`` made once per test process, which saves each test the migrations."""
    if backend == "sqlite":
        path = tmp / "inbox.db"
        if migrated:
            template = Path(_migrated_template("sqlite"))
            for suffix in ("", "-wal"):
                src = template.with_name(template.name + suffix)
                if src.exists():
                    shutil.copyfile(src, path.with_name(path.name + suffix))
        yield f"sqlite+aiosqlite:///{path}"
        return
    pg_or_skip()
    name = asyncio.run(create_pg_database(_migrated_template("postgres") if migrated else None))
    try:
        yield pg_url(name)
    finally:
        asyncio.run(drop_pg_database(name))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL, on each back end: empty, or at the schema's head when the test takes
    the ``services`` fixture, which would migrate it first anyway."""
    with backend_url(request.param, tmp_path, migrated="services" in request.fixturenames) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/inbox.db"


@pytest.fixture
def pg_db_url(tmp_path: Path) -> Iterator[str]:
    with backend_url("postgres", tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def initialised_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file that the installed ``social-inbox init`` set up, once per test process, with the
    default settings (config/inbox.toml): tests that need an initialised database for the CLI take a
    copy (:func:`cli_sqlite_url`) instead of paying for ``init`` each. ``init`` itself is tested on a
    fresh database of each back end in tests/integration/test_cli.py."""
    folder = tmp_path_factory.mktemp("initialised")
    db = folder / "inbox.db"
    env = {**os.environ, "INBOX_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "INBOX_MODEL_DIR": str(folder / "models")}
    r = subprocess.run([str(Path(sys.executable).parent / "social-inbox"), "init"], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=240)
    assert r.returncode == 0, r.stderr
    return db


@pytest.fixture
def cli_sqlite_url(initialised_sqlite: Path, tmp_path: Path) -> Callable[[str], str]:
    """``copy(name)``: the URL of a new copy, in ``tmp_path``, of the database that ``social-inbox init``
    set up (the file and any write-ahead log; no process has it open)."""
    def copy(name: str) -> str:
        target = tmp_path / name
        assert not target.exists(), target
        for suffix in ("", "-wal"):
            src = initialised_sqlite.with_name(initialised_sqlite.name + suffix)
            if src.exists():
                shutil.copyfile(src, target.with_name(target.name + suffix))
        return f"sqlite+aiosqlite:///{target}"
    return copy


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(ROOT / "config" / "inbox.toml",
                         {"database_url": db_url, "model_dir": str(tmp_path / "models"), **overrides})


@pytest.fixture
def settings_factory(tmp_path: Path) -> Any:
    def make(db_url: str, **overrides: Any) -> Settings:
        return make_settings(db_url, tmp_path, **overrides)
    return make


@contextmanager
def app_server(database_url: str, tmp: Path, seed: Callable[[Any], Any] | None = None, *, classifier: Any = None,
               clock: Any = None, role: str = "web", adjust: Callable[[Settings], Settings] | None = None,
               **overrides: Any) -> Iterator[Any]:
    """The one way tests run the app on a port: a started :class:`inbox.web.testing.LiveServer` on
    ``database_url`` (settings from config/inbox.toml with ``overrides``, then ``adjust``), routing
    with ``classifier`` (the keyword classifier by default). ``seed(services)`` runs before it
    starts (its result is ``server.seeded``). Two of them on one URL are two instances."""
    from inbox.web.testing import LiveServer

    settings = make_settings(database_url, tmp, **overrides)
    if adjust is not None:
        settings = adjust(settings)
    srv = LiveServer(settings, classifier=classifier or KeywordClassifier(), clock=clock, seed=seed,
                     role=role).start()
    try:
        yield srv
    finally:
        srv.stop()


@contextmanager
def live_server(backend: str, tmp: Path, seed: Callable[[Any], Any] | None = None, **options: Any) -> Iterator[Any]:
    """:func:`app_server` on a fresh database of ``backend`` (``"sqlite"``: a file in ``tmp``), at
    the schema's head already (the server would migrate it first)."""
    with backend_url(backend, tmp, migrated=True) as url, app_server(url, tmp, seed, **options) as srv:
        yield srv


@pytest.fixture
async def scratch_sqlite(tmp_path: Path) -> AsyncIterator[Any]:
    """A SQLite file with one table ``t (name TEXT UNIQUE)`` on the service's engine factory (WAL,
    write gate), for the tests of the write paths themselves; its write units closed at the end."""
    from sqlalchemy import text

    from inbox.storage.engine import create_engine
    from inbox.storage.write_units import close_write_units
    e = create_engine(f"sqlite+aiosqlite:///{tmp_path}/scratch.db")
    async with e.begin() as conn:
        await conn.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
    yield e
    close_write_units(e)
    await e.dispose()


async def until(pred: Callable[[], Any], *, tries: int = 500) -> None:
    """Wait (10 ms at a time, at most ``tries`` times) until ``pred()`` is true: for a condition
    that another task or thread reaches (a writer holding a lock, a unit running)."""
    for _ in range(tries):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


@contextmanager
def sent_statements(engine: Any, verb: str) -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of every statement starting with ``verb`` that ``engine`` sends inside the
    block, as the driver gets them: for EXPLAIN-ing the statement a repository function really runs."""
    from sqlalchemy import event
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(verb.upper()):
            sent.append((statement, parameters))

    target = getattr(engine, "sync_engine", engine)  # an AsyncEngine's, or a synchronous Engine itself
    event.listen(target, "before_cursor_execute", capture)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", capture)


class KeywordClassifier:
    """A deterministic stand-in for the model: keyword cues, fixed confidences."""

    version = "fake-1"
    labels = ["customer_care", "hr", "marketing", "pr"]
    CUES = {"hr": ("hiring", "job", "interview", "position", "lavoro", "colloquio"),
            "pr": ("journalist", "shares", "lawsuit", "ceo", "giornalista"),
            "customer_care": ("order", "refund", "broken", "help", "ordine", "rimborso"),
            "marketing": ("love", "price", "offer", "adoro", "prezzo")}

    def predict(self, texts: list[str]) -> list[Any]:
        from inbox.domain.types import Prediction
        out = []
        for t in texts:
            low = t.lower()
            scores = {lab: sum(c in low for c in cues) for lab, cues in self.CUES.items()}
            best = max(scores, key=lambda k: (scores[k], k == "customer_care"))
            conf = 0.9 if scores[best] else 0.3
            rest = (1 - conf) / 3
            out.append(Prediction(best, conf, {lab: conf if lab == best else rest for lab in self.labels}))
        return out


class ExplainingKeywordClassifier(KeywordClassifier):
    """The keyword classifier plus explain(text, top): the cue words that fired, as word features."""

    def explain(self, text: str, top: int = 5) -> dict[str, list[tuple[str, float]]]:
        low = text.lower()
        return {lab: [(f"w:{c}", 1.0) for c in cues if c in low][:top] for lab, cues in self.CUES.items()}


@pytest.fixture
def fake_classifier() -> KeywordClassifier:
    return KeywordClassifier()


async def open_services(settings: Settings, *, clock: Any = None, classifier: Any = None,
                        migrate: bool = True) -> Any:
    """The one way tests open a service container: ``Services.open``, then (``migrate``) the schema
    at head with the configured teams, then (``classifier`` given) a ready pipeline routing with it.
    The caller closes it."""
    from inbox.ingest.classifier import ClassifierHolder
    from inbox.ops.services import Services
    from inbox.storage import migrate as migrations
    from inbox.storage.repo import accounts
    svc = await Services.open(settings, clock=clock)
    if migrate:
        await migrations.upgrade(svc.engine)
        async with svc.engine.begin() as conn:
            await accounts.sync_teams(settings.teams, conn=conn, now=svc.clock.now())
    if classifier is not None:
        svc.classifier = ClassifierHolder(classifier)
        await svc.ready_pipeline()
    return svc


@pytest.fixture
async def services(db_url: str, settings_factory: Any, clock: FakeClock, fake_classifier: KeywordClassifier
                   ) -> AsyncIterator[Any]:
    """Migrated database with teams, a fake classifier and a fake clock, on each back end."""
    svc = await open_services(settings_factory(db_url), clock=clock, classifier=fake_classifier)
    yield svc
    await svc.close()
