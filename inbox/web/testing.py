"""Test and benchmark support: the real web app served from a background thread on 127.0.0.1
and an ephemeral port, over a fresh database seeded through the real ingest pipeline (with
whatever classifier the caller passes, e.g. the tests' keyword fake), plus sample users and
mentions. Synchronous callers (Playwright, schemathesis, requests) and async ones (aiohttp
clients on their own loop) can both use it."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from connectors.base import Mention
from inbox.domain import credentials
from inbox.domain.clock import Clock
from inbox.settings import Settings

__all__ = ["LiveServer", "SeedUser", "DEFAULT_USERS", "sample_mentions", "seed_users", "XSS_TEXT", "PASSWORD"]

PASSWORD = "correct-horse-battery"
XSS_TEXT = ('<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> my order is broken, '
            'refund please "quotes" & ampersands')


@dataclass(frozen=True)
class SeedUser:
    name: str
    role: str
    teams: tuple[str, ...]
    locale: str | None = None


DEFAULT_USERS = (
    SeedUser("carla", "agent", ("customer_care",)),
    SeedUser("dario", "agent", ("customer_care",)),
    SeedUser("henry", "agent", ("hr",)),
    SeedUser("marco", "agent", ("marketing",), "it"),
    SeedUser("lena", "lead", ("customer_care",)),
    SeedUser("mara", "manager", ()),
    SeedUser("root", "admin", ()),
)


def sample_mentions(n_care: int = 12, n_hr: int = 4, n_marketing: int = 4, n_pr: int = 2, *,
                    source: str = "seed", with_xss: bool = True, prefix: str = "") -> list[Mention]:
    """Mentions the keyword classifier routes to each team (EN and IT), one with an XSS payload."""
    out: list[Mention] = []
    for i in range(n_care):
        it = i % 3 == 2
        text = (f"Il mio ordine {i} è arrivato rotto, voglio un rimborso" if it
                else f"My order #{i} arrived broken, please help with a refund")
        out.append(Mention(source=source, platform="mastodon", external_id=f"{prefix}care-{i}", text=text,
                           url=f"https://social.example/@cust{i}/{1000 + i}", author_handle=f"cust{i}",
                           author_name=f"Customer {i}", author_followers=10 * i, language="it" if it else "en",
                           thread_id=f"{prefix}thread-care" if i < 3 else None))
    for i in range(n_hr):
        out.append(Mention(source=source, platform="reddit", external_id=f"{prefix}hr-{i}",
                           text=f"Any news about the job interview for position {i}? hiring process is slow",
                           author_handle=f"candidate{i}", language="en"))
    for i in range(n_marketing):
        out.append(Mention(source=source, platform="bluesky", external_id=f"{prefix}mkt-{i}",
                           text=f"I love the new price offer {i}", author_handle=f"fan{i}", language="en"))
    for i in range(n_pr):
        out.append(Mention(source="news", platform="rss", external_id=f"{prefix}pr-{i}",
                           text=f"A journalist asks the CEO about the lawsuit ({i})", language="en",
                           url="javascript:alert(1)" if i == 0 else None))
    if with_xss:
        out.append(Mention(source=source, platform="mastodon", external_id=f"{prefix}xss-1", text=XSS_TEXT,
                           author_handle='evil"><script>alert(1)</script>', language="en",
                           url="https://evil.example/x?a=1&b=<2>"))
    return out


async def seed_users(svc: Any, users: Sequence[SeedUser] = DEFAULT_USERS, password: str = PASSWORD) -> dict[str, Any]:
    from inbox.storage.repo import accounts
    pw = credentials.hash_password(password)
    out = {}
    async with svc.engine.begin() as conn:
        for u in users:
            out[u.name] = await accounts.add_user(u.name, u.role, list(u.teams), pw, conn=conn, now=svc.clock.now(),
                                                  locale=u.locale)
    return out


async def api_token(svc: Any, user_id: int) -> str:
    from inbox.storage.repo import accounts
    token = credentials.new_token()
    async with svc.engine.begin() as conn:
        await accounts.add_token(user_id, credentials.token_hash(token), conn=conn, now=svc.clock.now())
    return token


class LiveServer:
    """create_app + AppRunner on 127.0.0.1:<ephemeral> in a thread with its own event loop."""

    def __init__(self, settings: Settings, *, classifier: Any, clock: Clock | None = None,
                 seed: Callable[[Any], Awaitable[Any]] | None = None, role: str = "web") -> None:
        self.settings = settings
        self.classifier = classifier
        self.clock = clock
        self.seed = seed
        self.role = role
        self.seeded: Any = None
        self.svc: Any = None
        self.app: web.Application | None = None
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="inbox-live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the test server did not start")
        if self._error is not None:
            raise RuntimeError("the test server failed to start") from self._error
        return self

    def call(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any, timeout: float = 60, **kw: Any) -> Any:
        """Run ``await fn(*args, **kw)`` on the server's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(fn(*args, **kw), self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 - reported to start()
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        from inbox.ingest.classifier import ClassifierHolder
        from inbox.ops.services import Services
        from inbox.storage import migrate
        from inbox.storage.repo import accounts
        from inbox.web.app import create_app
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        svc = await Services.open(self.settings, clock=self.clock)
        self.svc = svc
        try:
            await migrate.upgrade(svc.engine)
            async with svc.engine.begin() as conn:
                await accounts.sync_teams(self.settings.teams, conn=conn, now=svc.clock.now())
            svc.classifier = ClassifierHolder(self.classifier)
            await svc.ready_pipeline()
            if self.seed is not None:
                self.seeded = await self.seed(svc)
            self.app = create_app(self.settings, role=self.role, services=svc)
            runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = runner.addresses[0][1]
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await runner.cleanup()
        finally:
            # work a request left running (a count being refreshed, a live push) ends before the
            # engine closes, so no database thread answers a loop that is gone
            leftover = asyncio.all_tasks() - {asyncio.current_task()}
            for task in leftover:
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)
            await svc.close()


CSRF_RE = r'name="_csrf" value="([^"]+)"'


def csrf_from(html: str) -> str:
    import re
    m = re.search(CSRF_RE, html)
    if m is None:
        raise AssertionError("no CSRF token in the page")
    return m.group(1)


async def web_login(session: Any, base: str, name: str, password: str = PASSWORD) -> str:
    """Sign in through the login form with an aiohttp ClientSession (whose cookie jar must accept
    IP hosts: ``aiohttp.CookieJar(unsafe=True)``); returns the session's CSRF token."""
    async with session.get(base + "/login") as r:
        token = csrf_from(await r.text())
    async with session.post(base + "/login", data={"name": name, "password": password, "_csrf": token},
                            headers={"Origin": base}, allow_redirects=False) as r:
        if r.status != 303:
            raise AssertionError(f"login of {name} answered {r.status}")
    async with session.get(base + "/queues") as r:
        return csrf_from(await r.text())
