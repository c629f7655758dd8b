"""The evidence index: who used which device, IP, email or payment fingerprint, and when.

Each observation is an item under `EV#<kind>#<hash>` sorted by time, written in the same
transaction as the record it belongs to, so velocity and link lookups are one strongly
consistent query each and never a scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from shared.atomic_changes import Changes
from shared.clock import iso, parse_iso
from shared.domain.evidence import EvidenceKind, Observation
from shared.repositories import keys
from shared.storage.table import Item, KeyRange, Put, Table, query_all

# Kinds nobody queries by value: the features and the review read devices, IPs, /24s,
# emails, cards, customers and advocates, never a whole email domain or browser. Those
# partitions were also the hottest (every gmail referee, every current Chrome: ~1.2 WCU
# per referral on one key, over 1,000 WCU/s at 1,000 referrals a second), so they are
# not written. The referral keeps its hashed domain and agent in its fingerprint.
UNREAD_KINDS = frozenset({EvidenceKind.EMAIL_DOMAIN, EvidenceKind.USER_AGENT})


__all__ = ["UNREAD_KINDS", "EvidenceIndex", "Observation"]


class EvidenceIndex:
    def __init__(self, table: Table) -> None:
        self._table = table

    def put_ops(self, observations: Iterable[Observation]) -> list[Put]:
        ops = []
        for obs in observations:
            if obs.kind in UNREAD_KINDS:
                continue
            subject = obs.referral_id or obs.advocate_id
            ops.append(
                Put(
                    {
                        "pk": keys.evidence(obs.kind.value, obs.value),
                        "sk": keys.evidence_sort(obs.occurred_at, subject, obs.role),
                        "type": "evidence",
                        "program_id": obs.program_id,
                        "advocate_id": obs.advocate_id,
                        "referral_id": obs.referral_id,
                        "customer_id": obs.customer_id,
                        "role": obs.role,
                        "occurred_at": iso(obs.occurred_at),
                    }
                )
            )
        return ops

    def record(self, observations: Iterable[Observation], *, within: Changes) -> None:
        """Index the observations with the record they belong to (committed with `within`)."""
        for op in self.put_ops(observations):
            within.stage(op)

    def latest(self, kind: EvidenceKind, value: str, limit: int) -> tuple[list[Observation], bool]:
        """The `limit` newest observations of the value, newest first, and whether there
        are older ones."""
        page = self._table.query(keys.evidence(kind.value, value), forward=False, limit=limit)
        return [_observation(kind, value, item) for item in page.items], page.cursor is not None

    def seen(
        self,
        kind: EvidenceKind,
        value: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Observation]:
        key_range = None
        if since is not None or until is not None:
            key_range = KeyRange(
                low=iso(since) if since else None,
                # "~" sorts after every id, so `until` itself is included.
                high=f"{iso(until)}~" if until else None,
            )
        items = query_all(self._table, keys.evidence(kind.value, value), key_range=key_range)
        return [_observation(kind, value, item) for item in items]


def _observation(kind: EvidenceKind, value: str, item: Item) -> Observation:
    return Observation(
        kind=kind,
        value=value,
        occurred_at=parse_iso(item["occurred_at"]),
        program_id=item["program_id"],
        advocate_id=item["advocate_id"],
        referral_id=item.get("referral_id"),
        customer_id=item["customer_id"],
        role=item["role"],
    )
