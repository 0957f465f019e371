"""SSRF guard: refuse URLs whose host is, or resolves to, a non-public address.

Refused unless the connector sets ``allow_private_hosts``: loopback, private (RFC 1918, ULA),
link-local, multicast, reserved, unspecified, shared (CGNAT) and documentation ranges, and
IPv4-mapped IPv6 forms of those. Cloud metadata addresses (169.254.169.254, fd00:ec2::254,
100.100.100.200) are refused even then: no self-hosted instance lives there.

Names are resolved through the running loop's ``getaddrinfo`` and *every* returned address must
be public. Limitation: aiohttp resolves again when it connects, so a DNS answer that changes
between the two look-ups (rebinding) is not caught here; see docs/connectors-notes.md.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from yarl import URL

from .errors import BlockedAddress, TransientError

__all__ = ["Resolver", "METADATA_ADDRESSES", "is_blocked_address", "check_url", "system_resolver"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def is_blocked_address(address: str | IPAddress, *, allow_private: bool = False) -> bool:
    """True when ``address`` may not be contacted (see the module docstring)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return True
    if allow_private:
        return False
    return ip.is_multicast or not ip.is_global


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
