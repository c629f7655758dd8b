"""An advocate's referrals, read through the evidence index.

Intake indexes every referral under `EV#advocate#<advocate_id>` (the advocate-link
evidence the risk features read), sorted by occurrence time, in the referral's own
transaction. That partition is the advocate's referral index: no new item is written and
referrals recorded before these reads existed are all in it.
"""

from __future__ import annotations

from datetime import datetime

from shared.clock import iso
from shared.domain.evidence import EvidenceKind
from shared.repositories import keys
from shared.storage.table import Item, KeyRange, Table

_REFEREE = "referee"


class AdvocateReferrals:
    def __init__(self, table: Table) -> None:
        self._table = table

    def page(
        self,
        advocate_id: str,
        *,
        program_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[str], str | None]:
        """Ids of a page of the advocate's referrals that occurred in [since, until],
        oldest first (of `program_id` only, when given)."""
        key_range = None
        if since is not None or until is not None:
            # "~" sorts after every id, so `until` itself is included.
            key_range = KeyRange(
                low=iso(since) if since else None, high=f"{iso(until)}~" if until else None
            )
        page = self._table.query(
            _partition(advocate_id), key_range=key_range, limit=limit, cursor=cursor
        )
        ids = [_referral_of(item, program_id) for item in page.items]
        return [i for i in ids if i is not None], page.cursor

    def first(self, advocate_id: str, cap: int) -> tuple[list[str], bool]:
        """Ids of the advocate's oldest `cap` referrals, and whether that is all of them."""
        ids: list[str] = []
        cursor: str | None = None
        while len(ids) < cap:
            found, cursor = self.page(advocate_id, limit=cap - len(ids), cursor=cursor)
            ids += found
            if cursor is None:
                return ids, True
        return ids, False


def _partition(advocate_id: str) -> str:
    return keys.evidence(EvidenceKind.ADVOCATE.value, advocate_id)


def _referral_of(item: Item, program_id: str | None) -> str | None:
    if item.get("role") != _REFEREE or not item.get("referral_id"):
        return None
    if program_id is not None and item.get("program_id") != program_id:
        return None
    return str(item["referral_id"])
