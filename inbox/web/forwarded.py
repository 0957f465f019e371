"""X-Forwarded-For, -Proto and -Host, believed only from the configured proxies.

``server.trusted_proxies`` lists the addresses or networks of the reverse proxies in front of the
app (default: none). When the connection comes from one of them, the request is cloned with the
client's address (the right-most X-Forwarded-For entry that is not itself a trusted proxy), and
the scheme and host the proxy reports (the right-most X-Forwarded-Proto and X-Forwarded-Host: the
values its own hop added). From anybody else the headers are ignored, so a client cannot claim
another origin (the CSRF check compares Origin with ``request.scheme``/``request.host``), HTTPS
(the cookie's Secure flag) or another address (login throttling).

aiohttp-remotes was considered: its strict mode refuses every request whose chain length differs
from the configuration (direct health checks included), and its filtered mode believes the
headers whoever sends them."""
from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

__all__ = ["Network", "parse_networks", "client_view", "forwarded_middleware"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_SCHEMES = {"http", "https"}


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.5", "172.16.0.0/12", "::1"]`` -> networks; ValueError names a bad entry."""
    out = []
    for v in values:
        try:
            out.append(ipaddress.ip_network(v.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{v!r} is not an IP address or network") from None
    return tuple(out)


def _ip(value: str | None) -> IP | None:
    if not value:
        return None
    try:
        ip = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def _trusted(ip: IP | None, proxies: tuple[Network, ...]) -> bool:
    return ip is not None and any(ip.version == n.version and ip in n for n in proxies)


def _last(headers: Any, name: str) -> str | None:
    values = [v.strip() for h in headers.getall(name, []) for v in h.split(",") if v.strip()]
    return values[-1] if values else None


def client_view(peer: str | None, headers: Any, proxies: tuple[Network, ...]) -> dict[str, str]:
    """The overrides (remote, scheme, host) for a request from ``peer`` with ``headers``."""
    if not proxies or not _trusted(_ip(peer), proxies):
        return {}
    out: dict[str, str] = {}
    chain = [v.strip() for h in headers.getall("X-Forwarded-For", []) for v in h.split(",") if v.strip()]
    for entry in reversed(chain):
        ip = _ip(entry)
        if ip is None:
            break  # a malformed entry: nothing to its left can be believed
        out["remote"] = str(ip)
        if not _trusted(ip, proxies):
            break
    proto = (_last(headers, "X-Forwarded-Proto") or "").lower()
    if proto in _SCHEMES:
        out["scheme"] = proto
    host = _last(headers, "X-Forwarded-Host")
    if host and len(host) <= 255 and all(c.isascii() and c.isprintable() and c not in "/\\@ " for c in host):
        out["host"] = host
    return out


def forwarded_middleware(proxies: tuple[Network, ...]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The outermost middleware: the request as the client sent it to the proxy."""
    @web.middleware
    async def forwarded(request: web.Request, handler: Any) -> web.StreamResponse:
        overrides = client_view(request.remote, request.headers, proxies) if proxies else {}
        if overrides:
            request = request.clone(**overrides)  # type: ignore[arg-type]  # str values for remote/scheme/host
        resp: web.StreamResponse = await handler(request)
        return resp
    return forwarded
