"""The reward ledger, the refunds recorded against it, and the counters it owns.

Entries live in their referral's partition (`REFERRAL#<id>` / `REWARD#<reward_id>`), so
"every reward of this referral" is one strongly consistent query: the fulfilment that
confirms the last entry is guaranteed to see its siblings confirmed. gsi1 lists every
entry by creation time; gsi2 lists entries by status, oldest change first, for the jobs
that look for stuck ones.

The program's `budget_left`/`budget_used` and the advocate's `rewarded_referrals`,
`reversed_referrals` and `clawed_back_referrals` are top-level numbers changed only with
`ADD` inside the same transaction as the entries they account for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.clock import iso
from shared.domain.rewards import RefundRecord, Reward, RewardStatus
from shared.repositories import keys
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import (
    All,
    AtLeast,
    ConditionFailed,
    Equals,
    Exists,
    Item,
    KeyRange,
    Missing,
    NotExists,
    Put,
    Table,
    Update,
    query_all,
)

# Advocate counters the risk features read (see README "Reward fulfilment").
REWARDED_REFERRALS = "rewarded_referrals"
REVERSED_REFERRALS = "reversed_referrals"
CLAWED_BACK_REFERRALS = "clawed_back_referrals"
LAST_REVERSAL_AT = "last_reversal_at"
# An order's refund running total: what is refunded and what is left of it.
REFUNDED = "refunded"
REFUND_LEFT = "left"


@dataclass(frozen=True)
class ClawbackHistory:
    clawed_back: int
    rewarded: int


class StaleReward(Exception):
    """The entry changed since it was read."""


class RewardRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # --- entries ------------------------------------------------------------------------

    def _item(self, reward: Reward) -> Item:
        pk, sk = keys.reward(reward.referral_id, reward.reward_id)
        return {
            "pk": pk,
            "sk": sk,
            "type": "reward",
            "gsi1pk": keys.REWARDS_INDEX,
            "gsi1sk": f"{iso(reward.created_at)}#{reward.reward_id}",
            "gsi2pk": keys.reward_status_partition(reward.status.value),
            "gsi2sk": f"{iso(reward.updated_at)}#{reward.reward_id}",
            "status": reward.status.value,
            "version": reward.version,
            "doc": to_doc(reward),
        }

    def create_op(self, reward: Reward) -> Put:
        """Create-once: the deterministic id makes a second release of the same slot fail."""
        return Put(self._item(reward), NotExists())

    def save_op(self, reward: Reward, expected_version: int) -> Put:
        return Put(self._item(reward), Equals("version", expected_version))

    def save(self, reward: Reward, expected_version: int) -> None:
        try:
            self._table.write([self.save_op(reward, expected_version)])
        except ConditionFailed as exc:
            raise StaleReward(reward.reward_id) from exc

    def get(self, referral_id: str, reward_id: str) -> Reward | None:
        item = self._table.get(*keys.reward(referral_id, reward_id))
        return from_item(Reward, item) if item else None

    def of_referral(self, referral_id: str) -> list[Reward]:
        pk, _ = keys.referral(referral_id)
        items = query_all(self._table, pk, key_range=KeyRange(begins_with=keys.REWARD_PREFIX))
        return [from_item(Reward, item) for item in items]

    def with_status(
        self,
        status: RewardStatus,
        *,
        changed_after: datetime | None = None,
        changed_before: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Reward], str | None]:
        key_range = None
        if changed_after is not None or changed_before is not None:
            key_range = KeyRange(
                low=iso(changed_after) if changed_after else None,
                high=f"{iso(changed_before)}~" if changed_before else None,
            )
        page = self._table.query(
            keys.reward_status_partition(status.value),
            index="gsi2",
            key_range=key_range,
            limit=limit,
            cursor=cursor,
        )
        return [from_item(Reward, item) for item in page.items], page.cursor

    # --- program budget -----------------------------------------------------------------

    def budget_take_op(self, program_id: str, amount: Decimal) -> Update:
        """Spend `amount` only if that much is left: the budget never goes negative."""
        pk, sk = keys.program(program_id)
        return Update(
            pk,
            sk,
            add={"budget_left": -amount, "budget_used": amount},
            condition=AtLeast("budget_left", amount),
        )

    def budget_return_op(self, program_id: str, amount: Decimal) -> Update:
        pk, sk = keys.program(program_id)
        return Update(
            pk, sk, add={"budget_left": amount, "budget_used": -amount}, condition=Exists()
        )

    def budget_left(self, program_id: str) -> Decimal | None:
        item = self._table.get(*keys.program(program_id))
        return Decimal(item["budget_left"]) if item else None

    # --- advocate counters --------------------------------------------------------------

    def rewarded_referrals(self, advocate_id: str) -> tuple[int, bool]:
        """The advocate's count of rewarded referrals, and whether the counter exists yet."""
        item = self._table.get(*keys.advocate(advocate_id))
        if item is None or REWARDED_REFERRALS not in item:
            return 0, False
        return int(item[REWARDED_REFERRALS]), True

    def cap_slot_op(self, advocate_id: str, seen: int, exists: bool) -> Update:
        """Take the next slot only if nobody took one since `seen` was read."""
        pk, sk = keys.advocate(advocate_id)
        condition = Equals(REWARDED_REFERRALS, seen) if exists else Missing(REWARDED_REFERRALS)
        return Update(pk, sk, add={REWARDED_REFERRALS: 1}, condition=condition)

    def reversal_flag_op(self, advocate_id: str, at: datetime, *, clawed_back: bool) -> Update:
        pk, sk = keys.advocate(advocate_id)
        add: dict[str, Decimal | int] = {REVERSED_REFERRALS: 1}
        if clawed_back:
            add[CLAWED_BACK_REFERRALS] = 1
        return Update(pk, sk, set={LAST_REVERSAL_AT: iso(at)}, add=add, condition=Exists())

    def clawback_history(self, advocate_id: str) -> ClawbackHistory:
        """How many of the advocate's referrals were rewarded, and how many of those were
        reversed after their rewards went out (one read of the advocate's counters)."""
        item = self._table.get(*keys.advocate(advocate_id)) or {}
        return ClawbackHistory(
            clawed_back=int(item.get(CLAWED_BACK_REFERRALS, 0)),
            rewarded=int(item.get(REWARDED_REFERRALS, 0)),
        )

    # --- refunds ------------------------------------------------------------------------

    def refund_op(self, record: RefundRecord) -> Put:
        pk, sk = keys.refund(record.referral_id, record.order_id, record.body_hash)
        return Put({"pk": pk, "sk": sk, "type": "refund", "doc": to_doc(record)}, NotExists())

    def get_refund(self, referral_id: str, order_id: str, digest: str) -> RefundRecord | None:
        item = self._table.get(*keys.refund(referral_id, order_id, digest))
        return from_item(RefundRecord, item) if item else None

    def refunded_of_order(self, referral_id: str, order_id: str) -> tuple[Decimal, bool]:
        """How much of the order is refunded, and whether its running total exists yet
        (orders refunded before the total was kept are summed from their records)."""
        item = self._table.get(*keys.refund_total(referral_id, order_id))
        if item is not None:
            return Decimal(item[REFUNDED]), True
        records = self.refunds_of_order(referral_id, order_id)
        return sum((r.amount for r in records), Decimal(0)), False

    def refund_total_op(
        self,
        referral_id: str,
        order_id: str,
        *,
        order_amount: Decimal,
        seen: Decimal,
        exists: bool,
        amount: Decimal,
    ) -> Update:
        """Add `amount` to the order's refunded total, only if nobody refunded since `seen`
        was read and only while `refunded + amount <= order_amount`."""
        pk, sk = keys.refund_total(referral_id, order_id)
        if seen + amount > order_amount:
            raise ValueError(f"refunding {amount} after {seen} exceeds the order {order_amount}")
        if not exists:
            left = order_amount - seen - amount
            return Update(
                pk,
                sk,
                set={"type": "refund_total", REFUNDED: seen + amount, REFUND_LEFT: left},
                condition=NotExists(),
            )
        return Update(
            pk,
            sk,
            add={REFUNDED: amount, REFUND_LEFT: -amount},
            condition=All((Equals(REFUNDED, seen), AtLeast(REFUND_LEFT, amount))),
        )

    def refunds_of_order(self, referral_id: str, order_id: str) -> list[RefundRecord]:
        pk, _ = keys.referral(referral_id)
        prefix = f"{keys.REFUND_PREFIX}{order_id}#"
        items = query_all(self._table, pk, key_range=KeyRange(begins_with=prefix))
        return [from_item(RefundRecord, item) for item in items]
