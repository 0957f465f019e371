"""The service's resources with one owner: settings, database engine, clock, classifier, pipeline,
and for a running server the database listener and the control channel. The CLI opens one per
command; the web app opens one in its cleanup context (every role: web, worker, all)."""
from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.domain.clock import Clock, SystemClock
from inbox.errors import DatabaseUnavailable
from inbox.ingest.classifier import ClassifierHolder, default_model_path, load_classifier
from inbox.ingest.pipeline import Pipeline
from inbox.ops.control import MODEL, SETTINGS, ControlChannel, ControlMessage
from inbox.settings import Settings
from inbox.storage import migrate
from inbox.storage.engine import create_engine, reader
from inbox.storage.listener import PgListener
from inbox.storage.read_units import ReadUnits
from inbox.storage.repo import accounts, model_versions
from inbox.storage.write_units import close_write_units, write_units

__all__ = ["Services", "instance_id"]

log = structlog.get_logger(__name__)


def instance_id() -> str:
    """Identifies this process as a lease owner: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    clock: Clock
    classifier: ClassifierHolder | None = None
    pipeline: Pipeline | None = None
    refiner: Any = None
    owner: str = field(default_factory=instance_id)
    listeners: list[Any] = field(default_factory=list)
    listener: PgListener | None = None
    control: ControlChannel | None = None
    reply_sender: Any = None
    # the settings from the file (and environment); ``settings`` is them with the sections edited in
    # the app applied (inbox/ops/live_config.py), ``config_versions`` the version in force of each
    file_settings: Settings | None = None
    config_versions: dict[str, int] = field(default_factory=dict)
    settings_listeners: list[Any] = field(default_factory=list)
    # the thread-context job's failing sources: connector -> (failures in a row, not asked before)
    context_failures: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    # the web pages' reads, one unit per page (inbox.storage.read_units); made with the engine
    reads: ReadUnits = field(init=False)

    def __post_init__(self) -> None:
        self.reads = ReadUnits(self.engine, slow_ms=self.settings.db_slow_statement_ms)
        write_units(self.engine, slow_ms=self.settings.db_slow_statement_ms)  # the engine's writer thread

    @classmethod
    async def open(cls, settings: Settings, *, clock: Clock | None = None, check: bool = True) -> Services:
        engine = create_engine(settings.database_url, pool_size=settings.db_pool_size,
                               pool_timeout=settings.db_pool_timeout, slow_ms=settings.db_slow_statement_ms)
        svc = cls(settings=settings, engine=engine, clock=clock or SystemClock(), file_settings=settings)
        if check:
            await svc.ping()
            from inbox.ops.live_config import load_from_db
            await load_from_db(svc)
        return svc

    def apply_settings(self, settings: Settings) -> None:
        """Put ``settings`` in force in this process: the pipeline's and refiner's routing, and
        whoever registered in ``settings_listeners`` (the web app's work service, the scheduler)."""
        self.settings = settings
        if self.pipeline is not None:
            self.pipeline.reconfigure(settings)
        if self.refiner is not None:
            self.refiner.settings = settings
        for fn in list(self.settings_listeners):
            fn(settings)

    async def _on_settings(self, msg: ControlMessage) -> None:
        from inbox.ops.live_config import load_from_db
        await load_from_db(self)
        log.info("settings_reloaded", control_id=msg.id, section=msg.payload.get("section"),
                 version=msg.payload.get("version"))

    async def ping(self) -> None:
        try:
            async with reader(self.engine).connect() as conn:  # on SQLite: no write lock for a ping
                await conn.execute(text("SELECT 1"))
        except (OSError, OperationalError, DBAPIError, ConnectionError) as e:
            await self.engine.dispose()
            raise DatabaseUnavailable(f"cannot reach the database at {_safe_url(self.settings.database_url)}: "
                                      f"{_one_line(e)}") from None

    async def start_background(self) -> None:
        """For a running server: the database listener and the control channel, with this
        container's own handler (a promoted model is loaded). Other components add theirs with
        ``svc.control.on(kind, handler)`` (they run for messages read after that)."""
        self.listener = PgListener(self.settings.database_url)
        self.control = ControlChannel(self.engine, self.listener)
        self.control.on(MODEL, self._on_model_promoted)
        self.control.on(SETTINGS, self._on_settings)
        await self.control.start()
        self.listener.start()

    async def _on_model_promoted(self, msg: ControlMessage) -> None:
        if self.classifier is not None:
            await self.load_model()
            log.info("model_reloaded", model_version=self.classifier.version, control_id=msg.id)

    def ready_reply_sender(self) -> Any:
        """This process's reply sender (inbox.work.reply_sender), created on first use."""
        if self.reply_sender is None:
            from inbox.work.reply_sender import ReplySender
            self.reply_sender = ReplySender(self)
        return self.reply_sender

    async def close(self) -> None:
        if self.reply_sender is not None:
            await self.reply_sender.close()
        if self.control is not None:
            await self.control.stop()
        if self.listener is not None:
            await self.listener.stop()
        await asyncio.to_thread(self.reads.close)  # waits for the units still running
        await asyncio.to_thread(close_write_units, self.engine)
        await self.engine.dispose()

    async def init_schema(self) -> None:
        """Migrate to head (a new database: seeded with the file's connectors, rules and teams as
        their first versions), create the configured teams, register the default model if none."""
        new = await migrate.current_revision(self.engine) is None
        await migrate.upgrade(self.engine)
        if new:
            from inbox.ops.live_config import seed
            await seed(self)
        now = self.clock.now()
        async with self.engine.begin() as conn:
            await accounts.sync_teams(self.settings.teams, conn=conn, now=now)
        async with reader(self.engine).connect() as conn:
            active = await model_versions.active_version(conn=conn)
        if active is None:
            await self.install_default_model()

    async def install_default_model(self) -> str:
        """Register the bundled model (training one from the seed corpus if it is missing)."""
        from inbox.ops.model_lifecycle import ensure_default_artifact
        path, meta = ensure_default_artifact(Path(self.settings.model_dir))
        async with self.engine.begin() as conn:
            await model_versions.register(meta["version"], str(path), meta, conn=conn, now=self.clock.now())
            await model_versions.promote(meta["version"], conn=conn, now=self.clock.now())
        log.info("default_model_registered", model_version=meta["version"], path=str(path))
        return str(meta["version"])

    async def load_model(self) -> ClassifierHolder:
        async with reader(self.engine).connect() as conn:
            active = await model_versions.active_version(conn=conn)
        path = Path(active["path"]) if active else default_model_path()
        if not path.exists():
            log.warning("model_file_missing", path=str(path))
            path = default_model_path()
        model = load_classifier(path)
        if self.classifier is None:
            self.classifier = ClassifierHolder(model)
        else:
            self.classifier.swap(model)
        return self.classifier

    async def ready_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            holder = self.classifier or await self.load_model()
            self.pipeline = Pipeline(self.engine, self.settings, holder, self.clock, publish=self._publish)
        return self.pipeline

    async def ready_refiner(self) -> Any:
        """The background refiner (inbox/ingest/second_look.py), sharing the pipeline's model holder and router;
        the encoder loads on its first run."""
        if self.refiner is None:
            from inbox.ingest.second_look import EncoderSource, Refiner
            pipe = await self.ready_pipeline()
            self.refiner = Refiner(self.engine, self.settings, pipe.classifier, pipe.router, self.clock,
                                   EncoderSource(self.settings.refiner.encoder_dir), publish=self._publish)
        return self.refiner

    def _publish(self, ids: list[int]) -> None:
        for fn in list(self.listeners):
            fn(ids)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for an error message
        return "(unparsable url)"


def _one_line(e: BaseException) -> str:
    msg = str(getattr(e, "orig", None) or e) or type(e).__name__
    return " ".join(msg.split())[:300]
