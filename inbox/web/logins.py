"""Checking a sign-in: the password, behind a throttle that holds under concurrency.

Each attempt is counted, before its password is checked, in three buckets (repo.login_throttle):
- the user name from this client address (``login_attempts`` per ``login_window``): a guesser
  is slowed on the account it attacks, and nobody elsewhere can lock its owner out;
- this address for every name (``login_attempts_per_address``): spraying one password over many
  names is slowed;
(an IPv6 client counts by its /64: one subscriber or host usually holds a whole /64, and a new
address from it must not start a new count; see :func:`address_key`)
- the user name from every address (``login_attempts_per_user``): a distributed attack is
  slowed, its delays capped at ``login_user_max_delay``. An attack that keeps trying would take
  every free moment of that bucket, so an attempt from an address the user signed in from within
  :data:`KNOWN_FOR` is not counted in it: there the owner still gets in (that address's own
  buckets still apply).
Past a bucket's limit, each failure refuses the bucket for 30 s, 1 min, 2 min ... (at most the
window); a refused attempt answers 429 with Retry-After without its password being looked at. A
success clears the user's buckets. The client address is ``request.remote``: behind a proxy,
only a configured one's X-Forwarded-For (inbox.web.forwarded).

Audit trail (the event table): ``login`` (success), ``login_failed`` (a wrong password or an
unknown name; ``actor`` is the name typed) and ``login_throttled`` when a bucket starts refusing
(its scope, the address, the failures and the delay)."""
from __future__ import annotations

import asyncio
import ipaddress
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web

from inbox.domain import credentials
from inbox.domain.types import UserInfo
from inbox.settings import ServerSettings
from inbox.storage.engine import reader
from inbox.storage.repo import accounts, items, login_throttle
from inbox.storage.repo.login_throttle import Bucket
from inbox.web.keys import SERVICES

__all__ = ["LoginThrottled", "check_credentials", "buckets", "address_key", "known_key", "HOLD",
           "KNOWN_FOR"]

log = structlog.get_logger(__name__)

HOLD = timedelta(seconds=30)   # a bucket at its limit is held while that attempt's password is checked
KNOWN_FOR = timedelta(days=90)  # an address a user signed in from stays known this long


class LoginThrottled(Exception):
    """Too many failed sign-ins in one of the buckets; ``retry_after`` in whole seconds."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(scope)
        self.scope, self.retry_after = scope, retry_after


def buckets(s: ServerSettings, name: str, address: str, *, known: bool = False) -> list[Bucket]:
    """The buckets an attempt for ``name`` from ``address`` counts in; from a ``known`` address
    (the user signed in from it lately) not the user's bucket for every address."""
    user = name.lower()
    out = [Bucket(f"user+addr:{user}|{address}", s.login_attempts, s.login_window),
           Bucket(f"addr:{address}", s.login_attempts_per_address, s.login_window, clear_on_success=False)]
    if not known:
        out.append(Bucket(f"user:{user}", s.login_attempts_per_user, s.login_user_max_delay))
    return out


def known_key(name: str, address: str) -> str:
    return f"known:{name.lower()}|{address}"


def address_key(remote: str | None) -> str:
    """The client address as the throttle counts it: an IPv4 address (an IPv4-mapped IPv6 one as
    IPv4), an IPv6 address's /64 network, anything else as given (at most 64 characters)."""
    try:
        ip = ipaddress.ip_address((remote or "").split("%", 1)[0])
    except ValueError:
        return (remote or "unknown")[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _scope(key: str) -> str:
    return key.split(":", 1)[0]


async def check_credentials(request: web.Request, name: str, password: str) -> UserInfo | None:
    """The user when the password matches, else None; raises :class:`LoginThrottled` (without
    looking at the password) when a bucket refuses the attempt."""
    svc = request.app[SERVICES]
    s = svc.settings.server
    now = svc.clock.now()
    name = name.strip()[:64]
    address = (request.remote or "unknown")[:64]
    bound = log.bind(user=name, address=address)
    counted_as = address_key(request.remote)
    mine: list[Bucket] = []

    refused: login_throttle.Refused | None = None
    try:
        async with svc.engine.begin() as conn:
            known = await login_throttle.seen_since(known_key(name, counted_as), conn=conn, since=now - KNOWN_FOR)
            mine = buckets(s, name, counted_as, known=known)
            refused = await login_throttle.admit(mine, conn=conn, now=now, window=s.login_window, hold=HOLD)
            if refused is not None:
                raise _Undo
    except _Undo:
        pass
    if refused is not None:
        wait = max(1, int((refused.until - now).total_seconds() + 0.999)) if refused.until else 1
        bound.info("login_refused", scope=_scope(refused.key), retry_after=wait)
        raise LoginThrottled(_scope(refused.key), wait)

    async with reader(svc.engine).connect() as conn:
        found = await accounts.password_hash_of(name, conn=conn)
    stored = found[1] if found else None
    # argon2 is deliberately slow: keep it off the event loop (an unknown name is checked against a dummy hash)
    ok = await asyncio.get_running_loop().run_in_executor(None, credentials.verify_password, stored, password)
    ok = ok and found is not None
    async with svc.engine.begin() as conn:
        started = await login_throttle.settle(mine, ok, conn=conn, now=now)
        await accounts.record_login(name, ok, conn=conn, now=now)
        events: list[dict[str, Any]] = [_event("login" if ok else "login_failed", name, now, {"address": address})]
        for b, failures, held in started:
            seconds = int(held.total_seconds())
            events.append(_event("login_throttled", name, now, {
                "scope": _scope(b.key), "address": address, "failures": failures, "retry_after_seconds": seconds}))
            bound.warning("login_throttled", scope=_scope(b.key), failures=failures, seconds=seconds)
        await items.insert_events(events, conn=conn)
        if ok:
            await login_throttle.remember(known_key(name, counted_as), conn=conn, now=now)
        if ok and stored and found is not None and credentials.needs_rehash(stored):
            await accounts.set_password(found[0], credentials.hash_password(password), conn=conn, now=now)
    if not ok or found is None:
        bound.info("login_failed")
        return None
    async with reader(svc.engine).connect() as conn:
        return await accounts.get_user(found[0], conn=conn)


class _Undo(Exception):
    """Leaves the admitting transaction by rolling it back: a refused attempt counts nowhere."""


def _event(kind: str, name: str, now: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {"item_id": None, "kind": kind, "actor": name or None, "team": None, "data": data, "created_at": now}
