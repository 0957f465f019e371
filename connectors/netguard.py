"""SSRF guard: refuse URLs whose host is, or resolves to, a non-public address.

Refused unless the connector sets ``allow_private_hosts``: loopback, private (RFC 1918, ULA),
link-local, site-local (fec0::/10), multicast, reserved, unspecified, shared (CGNAT) and
documentation ranges (the standard library's ``is_global``, with the ranges the IANA registries
added since Python 3.11's tables: 192.0.0.0/24, 3fff::/20, 5f00::/16), and the local-use NAT64
prefix 64:ff9b:1::/48 (not globally reachable, RFC 8215). An IPv6 address that embeds an IPv4
address (IPv4-mapped ::ffff:0:0/96,
IPv4-translated ::ffff:0:0:0/96, IPv4-compatible ::/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48 at
every RFC 6052 prefix length, 6to4 2002::/16, Teredo 2001::/32 server and client) is refused when
any embedded IPv4 address is: a translator or tunnel would deliver the packet there. Cloud metadata
addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200), embedded or not, are refused even
then: no self-hosted instance lives there.

Names are resolved through the running loop's ``getaddrinfo`` and *every* returned address must
be public. aiohttp resolves again when it connects; a DNS answer that changes between the two
look-ups (rebinding) is caught by :class:`GuardedResolver`, the resolver of the connectors' session
(:func:`guarded_tcp_connector`): it applies the same rule to the addresses actually connected to,
under the policy of the request in flight (:func:`guard_policy`, a context variable, strict when
unset). The session keeps no DNS cache of its own, so every connection is checked.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from .errors import BlockedAddress, TransientError

__all__ = [
    "Resolver", "METADATA_ADDRESSES", "is_blocked_address", "embedded_ipv4", "check_url", "system_resolver",
    "GuardedResolver", "BlockedAtConnect", "guard_policy", "guarded_tcp_connector",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_COMPATIBLE = ipaddress.ip_network("::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
# RFC 6052 section 2.2: where the 32 IPv4 bits sit for each NAT64 prefix length (bits 64-71 are
# the reserved "u" octet); (shift, width) pairs from the most significant part down
_RFC6052_LAYOUTS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 32),),                      # /96
    ((24, 32),),                     # /64
    ((64, 8), (32, 24)),             # /56
    ((64, 16), (40, 16)),            # /48
    ((64, 24), (48, 8)),             # /40
    ((64, 32),),                     # /32
)


def _rfc6052_candidates(value: int) -> list[ipaddress.IPv4Address]:
    found = []
    for layout in _RFC6052_LAYOUTS:
        v4 = 0
        for shift, width in layout:
            v4 = (v4 << width) | ((value >> shift) & ((1 << width) - 1))
        found.append(ipaddress.IPv4Address(v4))
    return found


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address ``ip`` carries in a transition form (see the module docstring)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64 or ip in _COMPATIBLE or ip in _TRANSLATED:
        found.append(low)
    if ip in _NAT64_LOCAL:
        found.extend(_rfc6052_candidates(int(ip)))
    return found


def is_blocked_address(address: str | IPAddress, *, allow_private: bool = False) -> bool:
    """True when ``address`` may not be contacted (see the module docstring)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if (ip.is_site_local or ip in _NAT64_LOCAL) and not allow_private:
            return True
        if any(_blocked_one(v4, allow_private) for v4 in embedded_ipv4(ip)):
            return True
    return _blocked_one(ip, allow_private)


# Ranges the IANA special-purpose registries mark not globally reachable that older Pythons'
# ``is_global`` does not know (3.11 before the gh-113171 update): 192.0.0.0/24 but for the
# anycast 192.0.0.9 and 192.0.0.10, the IPv6 documentation prefix 3fff::/20 (RFC 9637) and the
# SRv6 SID block 5f00::/16 (RFC 9602)
_NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "3fff::/20", "5f00::/16"))
_GLOBAL_EXCEPTIONS = frozenset(ipaddress.ip_address(a) for a in ("192.0.0.9", "192.0.0.10"))


def _blocked_one(ip: IPAddress, allow_private: bool) -> bool:
    if ip in METADATA_ADDRESSES:
        return True
    if allow_private:
        return False
    if ip.is_multicast or not ip.is_global:
        return True
    return ip not in _GLOBAL_EXCEPTIONS and any(ip.version == n.version and ip in n for n in _NOT_GLOBAL)


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the running loop's ``getaddrinfo``: every address, as strings."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


async def check_url(
    url: URL,
    *,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    connector: str | None = None,
) -> None:
    """Raise :class:`BlockedAddress` unless ``url`` is http(s) and its host is allowed."""
    if url.scheme not in ("http", "https"):
        raise BlockedAddress(f"scheme {url.scheme!r} is not allowed", connector=connector, url=str(url))
    host = url.host
    if not host:
        raise BlockedAddress("URL has no host", connector=connector, url=str(url))
    host = host.strip("[]")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolver(host, url.port or (443 if url.scheme == "https" else 80))
        except (socket.gaierror, OSError) as exc:
            raise TransientError(f"cannot resolve {host}: {exc}", connector=connector, url=str(url)) from exc
        if not addresses:
            raise TransientError(f"{host} resolved to no address", connector=connector, url=str(url))
    for address in addresses:
        if is_blocked_address(address, allow_private=allow_private):
            raise BlockedAddress(
                f"{host} resolves to non-public address {address}", connector=connector, url=str(url)
            )


@dataclass(frozen=True)
class _Policy:
    allow_private: bool
    connector: str | None


_POLICY: ContextVar[_Policy | None] = ContextVar("netguard_policy", default=None)


@contextmanager
def guard_policy(*, allow_private: bool, connector: str | None = None) -> Iterator[None]:
    """Requests made inside this block connect under ``allow_private`` (see :class:`GuardedResolver`)."""
    token = _POLICY.set(_Policy(allow_private, connector))
    try:
        yield
    finally:
        _POLICY.reset(token)


class BlockedAtConnect(OSError):
    """Raised by :class:`GuardedResolver`; aiohttp wraps it in a ``ClientConnectorError``."""

    def __init__(self, message: str, *, connector: str | None) -> None:
        super().__init__(message)
        self.connector = connector


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses to hand out a blocked address at connect time.

    It wraps another resolver (aiohttp's default) and checks every address it returns with
    :func:`is_blocked_address` under the current :func:`guard_policy` (strict when none is set),
    so the address the socket connects to is the address that was checked: no rebinding window.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        policy = _POLICY.get() or _Policy(False, None)
        for result in results:
            address = str(result["host"]).split("%", 1)[0]
            if is_blocked_address(address, allow_private=policy.allow_private):
                raise BlockedAtConnect(
                    f"{host} resolves to non-public address {address} at connect time",
                    connector=policy.connector,
                )
        return results

    async def close(self) -> None:
        await self._inner.close()


def guarded_tcp_connector(*, resolver: AbstractResolver | None = None, **kwargs: Any) -> aiohttp.TCPConnector:
    """A ``TCPConnector`` for the connectors' shared session: :class:`GuardedResolver` and no DNS
    cache (a cached answer would skip the check). ``resolver`` replaces the inner resolver (tests)."""
    return aiohttp.TCPConnector(resolver=GuardedResolver(resolver), use_dns_cache=False, **kwargs)
