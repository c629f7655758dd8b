"""Whether an address belongs to a cloud or hosting network, from a list shipped with us.

The list (hosting_networks.txt beside this module) names its sources and version; it is
read once per process (85 blocks, well under a millisecond) and looked up by bisection.
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

_LIST = Path(__file__).with_name("hosting_networks.txt")


class NetworkType(StrEnum):
    HOSTING = "hosting"
    # Private, loopback, link-local and other addresses no public client comes from.
    RESERVED = "reserved"
    OTHER = "other"


@dataclass(frozen=True)
class NetworkReading:
    network_type: NetworkType
    provider: str | None = None


@dataclass(frozen=True)
class _HostingBlocks:
    version: str
    starts: list[int]
    ends: list[int]
    providers: list[str]


@cache
def _blocks() -> _HostingBlocks:
    version = ""
    rows: list[tuple[int, int, str]] = []
    for line in _LIST.read_text().splitlines():
        if line.startswith("# list_version:"):
            version = line.split(":", 1)[1].strip()
        if not line.strip() or line.startswith("#"):
            continue
        provider, cidr = line.split()
        network = ipaddress.IPv4Network(cidr)
        rows.append((int(network.network_address), int(network.broadcast_address), provider))
    rows.sort()
    return _HostingBlocks(
        version=version,
        starts=[row[0] for row in rows],
        ends=[row[1] for row in rows],
        providers=[row[2] for row in rows],
    )


def hosting_list_version() -> str:
    return _blocks().version


def read_network(ip: str) -> NetworkReading | None:
    """The network type of an address; None when it is not an address at all."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if not address.is_global:
        return NetworkReading(NetworkType.RESERVED)
    if address.version != 4:  # the list holds IPv4 blocks only
        return NetworkReading(NetworkType.OTHER)
    blocks = _blocks()
    index = bisect.bisect_right(blocks.starts, int(address)) - 1
    if index >= 0 and int(address) <= blocks.ends[index]:
        return NetworkReading(NetworkType.HOSTING, blocks.providers[index])
    return NetworkReading(NetworkType.OTHER)
