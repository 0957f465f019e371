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
