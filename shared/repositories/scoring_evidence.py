"""What the fraud features read: a referral, its advocate, program and events, how other
referrals ended, and what the evidence index saw with a device, IP, card or customer.

The evidence index's items are read as stored, without building models: one scoring
reads dozens of them and the hourly re-score reads them all again.
"""

from __future__ import annotations

from datetime import datetime

from shared.clock import iso
from shared.domain.advocates import Advocate
from shared.domain.events import ReferralEvent
from shared.domain.evidence import EvidenceKind
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.sightings import ReferralOutcome, Seen
from shared.repositories import keys
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.storage.table import KeyRange, Table, query_all


class ScoringEvidence:
    """The `EvidenceSource` of `shared.scoring.features` on the table."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._referrals = ReferralRepository(table)
        self._advocates = AdvocateRepository(table)
        self._programs = ProgramRepository(table)

    def referral(self, referral_id: str) -> Referral | None:
        return self._referrals.get(referral_id)

    def advocate(self, advocate_id: str) -> Advocate | None:
        return self._advocates.get(advocate_id)

    def program(self, program_id: str) -> Program | None:
        return self._programs.terms(program_id)

    def seen_until(self, kind: EvidenceKind, value: str, until: datetime) -> list[Seen]:
        # "~" sorts after every id, so `until` itself is included.
        items = query_all(
            self._table, keys.evidence(kind.value, value), key_range=KeyRange(high=f"{iso(until)}~")
        )
        return [
            Seen(
                i["occurred_at"],
                i["program_id"],
                i["advocate_id"],
                i.get("referral_id"),
                i["customer_id"],
                i["role"],
            )
            for i in items
        ]

    def events(self, referral_id: str) -> list[ReferralEvent]:
        return self._referrals.events(referral_id)

    def outcome(self, referral_id: str) -> ReferralOutcome | None:
        """The referral's status and whether it was clawed back after payout.

        Both are kept beside the document (for the status index and for this); no need to
        parse it."""
        item = self._table.get(*keys.referral(referral_id))
        if item is None:
            return None
        return ReferralOutcome(ReferralStatus(item["status"]), bool(item.get("clawed_back")))
