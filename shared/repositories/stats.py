"""Program counters for the stats endpoint, maintained by the writers that change the figures.

Each writer adds `ProgramCounters.add_op(...)` to the transaction that makes the change, so a
counter moves exactly when its fact does. Counters live on a few shard items beside the
program (not on the program item), so busy intake does not serialise on one item and does
not conflict with the ledger's budget updates; reading the stats is one read of each shard.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum

from shared.repositories import keys
from shared.repositories.unit_of_work import Changes
from shared.storage.table import Table, Update


class Counter(StrEnum):
    REFERRALS = "referrals"  # +1 per recorded referral (intake, self-referrals included)
    QUALIFIED = "qualified"  # +1 when a referral's first qualifying event is recorded
    FLAGGED = "flagged"  # +1 when a referral first enters review
    REJECTED = "rejected"  # +1 entering `rejected`, -1 leaving it (re-scoring may reopen)
    PAYOUTS = "payouts"  # +1 when a referral becomes `rewarded`
    PAYOUT_SECONDS = "payout_seconds"  # + seconds from its qualifying event to that moment


def paid_amount(kind: str) -> str:
    """Amount confirmed paid for a reward kind (minus clawbacks)."""
    return f"paid_amount_{kind}"


def paid_count(kind: str) -> str:
    """Rewards of that kind confirmed paid (minus clawbacks)."""
    return f"paid_count_{kind}"


class ProgramCounters:
    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def add_op(
        program_id: str, deltas: Mapping[str, Decimal | int], shard: int | None = None
    ) -> Update:
        """ADD the deltas on one shard; put it in the same transaction as the change."""
        number = shard if shard is not None else random.randrange(keys.STATS_SHARDS)
        pk, sk = keys.program_stats(program_id, number % keys.STATS_SHARDS)
        return Update(
            pk,
            sk,
            add={str(name): delta for name, delta in deltas.items()},
            set={"type": "stats"},
        )

    @staticmethod
    def count(program_id: str, deltas: Mapping[str, Decimal | int], *, within: Changes) -> None:
        """Add `deltas` to the program's figures, with the change they count."""
        within.stage(ProgramCounters.add_op(program_id, deltas))

    def totals(self, program_id: str) -> dict[str, Decimal]:
        sums: dict[str, Decimal] = {}
        shards = (keys.program_stats(program_id, n) for n in range(keys.STATS_SHARDS))
        for item in filter(None, (self._table.get(*key) for key in shards)):
            for name, value in item.items():
                if name in ("pk", "sk", "type") or not isinstance(value, (Decimal, int)):
                    continue
                sums[name] = sums.get(name, Decimal(0)) + Decimal(value)
        return sums
