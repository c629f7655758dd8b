"""The advocate's reward counters, top-level numbers on the advocate item.

`rewarded_referrals` is the cap: a release takes the next slot only if nobody took one
since it was read. `reversed_referrals`, `clawed_back_referrals` and `last_reversal_at`
are what the risk features read about the advocate's reversals (README "Reward
fulfilment"). Each is changed with `ADD` in the transaction it accounts for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.clock import iso
from shared.repositories import keys
from shared.repositories.unit_of_work import Changes
from shared.storage.table import Equals, Exists, Missing, Table, Update

REWARDED_REFERRALS = "rewarded_referrals"
REVERSED_REFERRALS = "reversed_referrals"
CLAWED_BACK_REFERRALS = "clawed_back_referrals"
LAST_REVERSAL_AT = "last_reversal_at"


@dataclass(frozen=True)
class ClawbackHistory:
    clawed_back: int
    rewarded: int


def take_slot_op(advocate_id: str, seen: int, exists: bool) -> Update:
    """Take the next slot only if nobody took one since `seen` was read."""
    pk, sk = keys.advocate(advocate_id)
    condition = Equals(REWARDED_REFERRALS, seen) if exists else Missing(REWARDED_REFERRALS)
    return Update(pk, sk, add={REWARDED_REFERRALS: 1}, condition=condition)


def reversal_op(advocate_id: str, at: datetime, *, clawed_back: bool) -> Update:
    pk, sk = keys.advocate(advocate_id)
    add: dict[str, Decimal | int] = {REVERSED_REFERRALS: 1}
    if clawed_back:
        add[CLAWED_BACK_REFERRALS] = 1
    return Update(pk, sk, set={LAST_REVERSAL_AT: iso(at)}, add=add, condition=Exists())


class AdvocateCounters:
    def __init__(self, table: Table) -> None:
        self._table = table

    def rewarded_referrals(self, advocate_id: str) -> tuple[int, bool]:
        """The advocate's count of rewarded referrals, and whether the counter exists yet."""
        item = self._table.get(*keys.advocate(advocate_id))
        if item is None or REWARDED_REFERRALS not in item:
            return 0, False
        return int(item[REWARDED_REFERRALS]), True

    @staticmethod
    def take_slot(advocate_id: str, seen: int, exists: bool, *, within: Changes) -> None:
        """Take the advocate's next slot with `within`; if somebody took one since `seen`
        was read, the commit raises `Contention` (read again)."""
        within.stage(take_slot_op(advocate_id, seen, exists))

    @staticmethod
    def count_reversal(
        advocate_id: str, at: datetime, *, clawed_back: bool, within: Changes
    ) -> None:
        """Count one more reversed referral of the advocate (and a clawback, if it was)."""
        within.stage(reversal_op(advocate_id, at, clawed_back=clawed_back))

    def clawback_history(self, advocate_id: str) -> ClawbackHistory:
        """How many of the advocate's referrals were rewarded, and how many of those were
        reversed after their rewards went out (one read of the advocate's counters)."""
        item = self._table.get(*keys.advocate(advocate_id)) or {}
        return ClawbackHistory(
            clawed_back=int(item.get(CLAWED_BACK_REFERRALS, 0)),
            rewarded=int(item.get(REWARDED_REFERRALS, 0)),
        )
