"""Injection sites, enumerated from the ports themselves, and the faults each can meet.

A site is one method of a port. Nothing here lists method names by hand: the `Table`,
queue and payout Protocols are introspected, so a method added to a port becomes a site
(and must then be survived) without this file changing.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Literal

from shared.payouts.port import PayoutProvider
from shared.ports import RewardQueue, ScoringQueue
from shared.storage.table import Table

SiteKind = Literal["table_write", "queue_send", "provider_write", "provider_read"]

# A method whose first word is one of these only reads; every other method changes state.
READ_VERBS = frozenset({"get", "query", "find", "list", "scan", "read", "describe"})

FAULTS: dict[SiteKind, tuple[str, ...]] = {
    "table_write": ("crash_before", "crash_after", "throttled", "condition_failed"),
    "queue_send": ("crash_before", "crash_after", "duplicate_x5", "out_of_order"),
    # A create the provider processed and whose answer is lost appears twice: as a crash
    # of the caller (`crash_after`) and as the provider's timeout after processing.
    "provider_write": (
        "crash_after",
        "lost_response",
        "error_5xx_before",
        "error_5xx_after",
        "rate_limited",
        "timeout",
    ),
    "provider_read": ("crash_after", "error_5xx", "rate_limited", "timeout"),
}


@dataclass(frozen=True)
class Site:
    port: str
    method: str
    kind: SiteKind

    @property
    def name(self) -> str:
        return f"{self.port}.{self.method}"

    @property
    def faults(self) -> tuple[str, ...]:
        return FAULTS[self.kind]


def protocol_methods(protocol: type) -> list[str]:
    """The public methods a Protocol declares (properties are attributes, not calls)."""
    return sorted(
        name
        for name, member in vars(protocol).items()
        if not name.startswith("_") and inspect.isfunction(member)
    )


def is_write(method: str) -> bool:
    return method.split("_", maxsplit=1)[0] not in READ_VERBS


def enumerate_sites() -> list[Site]:
    sites = [Site("Table", m, "table_write") for m in protocol_methods(Table) if is_write(m)]
    for queue in (ScoringQueue, RewardQueue):
        sites += [Site(queue.__name__, m, "queue_send") for m in protocol_methods(queue)]
    for method in protocol_methods(PayoutProvider):
        kind: SiteKind = "provider_write" if is_write(method) else "provider_read"
        sites.append(Site("PayoutProvider", method, kind))
    return sites


SITES = enumerate_sites()
SITES_BY_NAME = {site.name: site for site in SITES}
