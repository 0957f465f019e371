"""The SSRF guard refuses non-public addresses."""
from __future__ import annotations

import pytest
from yarl import URL

from connectors.errors import BlockedAddress
from connectors.netguard import check_url, is_blocked_address


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1", "169.254.169.254", "0.0.0.0",
    "224.0.0.1", "100.64.0.1", "::1", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:127.0.0.1", "240.0.0.1",
])
def test_non_public_addresses_blocked(address: str) -> None:
    """Loopback, private, link-local, multicast, CGNAT, reserved and mapped forms are refused."""
    assert is_blocked_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_allowed(address: str) -> None:
    """Ordinary public addresses pass."""
    assert not is_blocked_address(address)


def test_allow_private_still_blocks_metadata() -> None:
    """allow_private_hosts lets loopback through but never the cloud metadata endpoints."""
    assert not is_blocked_address("127.0.0.1", allow_private=True)
    assert is_blocked_address("169.254.169.254", allow_private=True)
    assert is_blocked_address("fd00:ec2::254", allow_private=True)


async def test_hostname_resolving_to_loopback_refused() -> None:
    """'localhost' is resolved through the loop and refused because it is loopback."""
    with pytest.raises(BlockedAddress, match="non-public"):
        await check_url(URL("http://localhost:9/"), allow_private=False)


async def test_resolver_answers_checked_all() -> None:
    """Every resolved address must be public: one private answer is enough to refuse."""
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(BlockedAddress):
        await check_url(URL("https://mixed.example/"), allow_private=False, resolver=resolver)


async def test_non_http_scheme_refused() -> None:
    """file:// and friends are refused before any lookup."""
    with pytest.raises(BlockedAddress, match="scheme"):
        await check_url(URL("file:///etc/passwd"), allow_private=True)


@pytest.mark.parametrize("address", [
    "64:ff9b::7f00:1",              # NAT64 well-known prefix, 127.0.0.1
    "64:ff9b::a00:1",               # NAT64, 10.0.0.1
    "64:ff9b:1::7f00:1",            # local-use NAT64 prefix (/96 layout)
    "64:ff9b:1:7f00:0:100::",       # local-use NAT64 prefix, RFC 6052 /48 layout of 127.0.0.1
    "2002:7f00:1::",                # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",             # 6to4 of 192.168.1.1
    "::7f00:1",                     # IPv4-compatible 127.0.0.1
    "::a00:1",                      # IPv4-compatible 10.0.0.1
    "::ffff:0:7f00:1",              # IPv4-translated (SIIT) 127.0.0.1
    "::ffff:0:a9fe:a9fe",           # IPv4-translated 169.254.169.254
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "fec0::1",                      # deprecated site-local
    "feff::1",                      # site-local, upper end
    "64:ff9b:1:7f:0:1::",           # local-use NAT64 prefix, RFC 6052 /56 layout of 127.0.0.1
    "64:ff9b:1:a:102:300::",        # local-use NAT64 prefix, RFC 6052 /64 layout of 10.1.2.3
    "::ffff:a00:1",                 # IPv4-mapped 10.0.0.1
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo, server 10.0.0.1
    "192.0.0.8",                    # IPv4 dummy address (192.0.0.0/24 is not global)
    "::ffff:c000:8", "64:ff9b::c000:8", "2002:c000:8::1",  # ... nor in a transition form
    "3fff::1",                      # IPv6 documentation (RFC 9637)
    "5f00::1",                      # SRv6 SIDs (RFC 9602)
])
def test_ipv6_transition_forms_of_private_ipv4_blocked(address: str) -> None:
    """Every IPv6 form that embeds an IPv4 address is judged by that address too."""
    assert is_blocked_address(address)


@pytest.mark.parametrize("address", [
    "64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe", "64:ff9b:1:a9fe:a9:fe00::", "2002:a9fe:a9fe::1",
    "::a9fe:a9fe", "::ffff:0:a9fe:a9fe", "::ffff:a9fe:a9fe", "2001:0:4136:e378:8000:63bf:5601:5601",
])
def test_embedded_metadata_address_blocked_even_when_private_allowed(address: str) -> None:
    """169.254.169.254 inside any transition form is the metadata endpoint, never allowed."""
    assert is_blocked_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:808:808", "192.0.0.9",
                                     "192.0.0.10"])
def test_transition_forms_of_public_ipv4_allowed(address: str) -> None:
    """NAT64, 6to4 and mapped forms of a public address are ordinary public destinations, and so
    are the two globally reachable anycast addresses of 192.0.0.0/24."""
    assert not is_blocked_address(address)


async def test_literal_transition_form_refused_in_url() -> None:
    """A URL with a bracketed NAT64 literal of loopback is refused before any connection."""
    with pytest.raises(BlockedAddress, match="non-public"):
        await check_url(URL("http://[64:ff9b::7f00:1]:8080/feed"), allow_private=False)
