"""The stored history, read for export: programs, their advocates and referrals, and each
referral's partition (events, rewards, refunds, reviewer labels), plus the blocklist.

Every read is a `get` or a paged Query of one partition or index partition (the program
list, a program's advocates, its referral shards, one referral's partition, the
blocklist): no scan, so it runs on the deployed table as it does on a local one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.domain.advocates import Advocate
from shared.domain.blocklist import BlocklistEntry
from shared.domain.events import ReferralEvent
from shared.domain.programs import Program
from shared.domain.referrals import Referral
from shared.domain.reviews import ReviewLabel
from shared.domain.rewards import RefundRecord, Reward
from shared.repositories import keys
from shared.repositories.advocate_counters import AdvocateCounters, ClawbackHistory
from shared.repositories.codec import from_item
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.storage.table import Table, query_all

PAGE = 200


@dataclass
class ReferralHistory:
    """One referral with everything its partition holds."""

    referral: Referral
    events: list[ReferralEvent] = field(default_factory=list)
    rewards: list[Reward] = field(default_factory=list)
    refunds: list[RefundRecord] = field(default_factory=list)
    labels: list[ReviewLabel] = field(default_factory=list)


class StoredHistory:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._programs = ProgramRepository(table)
        self._referrals = ReferralRepository(table)
        self._counters = AdvocateCounters(table)

    def programs(self) -> list[Program]:
        found = (self._programs.get(pid) for pid in self._referrals.program_ids())
        return [program for program in found if program is not None]

    def advocates(self, program_id: str) -> list[Advocate]:
        items = query_all(self._table, keys.program_advocates(program_id), index="gsi1")
        ids = [str(item["pk"]).removeprefix("ADVOCATE#") for item in items]
        found = (self._table.get(*keys.advocate(advocate_id)) for advocate_id in ids)
        return [from_item(Advocate, item) for item in found if item is not None]

    def clawbacks(self, advocate_id: str) -> ClawbackHistory:
        return self._counters.clawback_history(advocate_id)

    def referrals(self, program_id: str) -> Iterator[Referral]:
        cursor: str | None = None
        while True:
            page, cursor = self._referrals.of_program(program_id, limit=PAGE, cursor=cursor)
            yield from page
            if cursor is None:
                return

    def of_referral(self, referral: Referral) -> ReferralHistory:
        pk, _ = keys.referral(referral.referral_id)
        found = ReferralHistory(referral)
        for item in query_all(self._table, pk):
            _sort_into(found, item)
        return found

    def blocklist(self) -> list[BlocklistEntry]:
        items = query_all(self._table, keys.BLOCKLIST, index="gsi1")
        return [from_item(BlocklistEntry, item) for item in items]


def _sort_into(found: ReferralHistory, item: dict[str, Any]) -> None:
    sk = str(item["sk"])
    if sk.startswith(keys.EVENT_PREFIX):
        found.events.append(from_item(ReferralEvent, item))
    elif sk.startswith(keys.REWARD_PREFIX):
        found.rewards.append(from_item(Reward, item))
    elif sk.startswith(keys.REFUND_PREFIX):
        found.refunds.append(from_item(RefundRecord, item))
    elif sk.startswith("LABEL#"):
        # The scorer's features are kept as text; the export needs the decision only.
        doc = {k: v for k, v in item["doc"].items() if k != "features"}
        found.labels.append(ReviewLabel.model_validate(doc))
