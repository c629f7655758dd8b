"""The reward ledger and the refunds recorded against it.

Entries live in their referral's partition (`REFERRAL#<id>` / `REWARD#<reward_id>`), so
"every reward of this referral" is one strongly consistent query: the fulfilment that
confirms the last entry is guaranteed to see its siblings confirmed. gsi1 lists every
entry by creation time; gsi2 lists entries by status, oldest change first, for the jobs
that look for stuck ones.

The program's budget (`shared.repositories.budget`) and the advocate's counters
(`shared.repositories.advocate_counters`) are changed in the same transaction as the
entries they account for; their names and readings are kept here for older callers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from shared.atomic_changes import Changes
from shared.clock import iso
from shared.domain.rewards import RefundRecord, Reward, RewardMoved, RewardStatus, StaleReward
from shared.repositories import keys
from shared.repositories.advocate_counters import (
    CLAWED_BACK_REFERRALS,
    LAST_REVERSAL_AT,
    REVERSED_REFERRALS,
    REWARDED_REFERRALS,
    AdvocateCounters,
    ClawbackHistory,
    take_slot_op,
)
from shared.repositories.budget import ProgramBudget
from shared.repositories.codec import from_item, to_doc
from shared.storage.table import (
    All,
    AtLeast,
    Check,
    ConditionFailed,
    Equals,
    Item,
    KeyRange,
    NotExists,
    Put,
    Table,
    Update,
    query_all,
)

__all__ = [
    "CLAWED_BACK_REFERRALS",
    "LAST_REVERSAL_AT",
    "REFUNDED",
    "REFUND_LEFT",
    "REVERSED_REFERRALS",
    "REWARDED_REFERRALS",
    "ClawbackHistory",
    "RewardRepository",
    "StaleReward",
]

# Entries read per query by the jobs that walk a status.
PAGE = 100
# An order's refund running total: what is refunded and what is left of it.
REFUNDED = "refunded"
REFUND_LEFT = "left"


class RewardRepository:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._budget = ProgramBudget(table)
        self._counters = AdvocateCounters(table)

    # --- entries ------------------------------------------------------------------------

    def _item(self, reward: Reward) -> Item:
        pk, sk = keys.reward(reward.filed_under, reward.reward_id)
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

    @staticmethod
    def unchanged_op(reward: Reward) -> Check:
        pk, sk = keys.reward(reward.filed_under, reward.reward_id)
        return Check(pk, sk, Equals("version", reward.version))

    def add(self, reward: Reward, *, within: Changes) -> None:
        """Create the entry with `within`, once: a second release of the same slot is
        refused (`Contention`: read again)."""
        within.stage(self.create_op(reward))

    def stage_save(self, reward: Reward, expected_version: int, *, within: Changes) -> None:
        """Save the new state with `within`, if the stored one is still `expected_version`;
        otherwise the commit raises `RewardMoved`."""
        reward_id = reward.reward_id
        within.stage(self.save_op(reward, expected_version), lambda: RewardMoved(reward_id))

    def stage_unchanged(self, reward: Reward, *, within: Changes) -> None:
        """Commit `within` only if the entry is still as read; otherwise `RewardMoved`."""
        reward_id = reward.reward_id
        within.stage(self.unchanged_op(reward), lambda: RewardMoved(reward_id))

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

    def page(
        self,
        *,
        referral_id: str | None,
        status: RewardStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Reward], str | None]:
        """Entries of one referral, of one status, or all of them (newest first)."""
        if referral_id is not None:
            pk, _ = keys.referral(referral_id)
            page = self._table.query(
                pk, key_range=KeyRange(begins_with=keys.REWARD_PREFIX), limit=limit, cursor=cursor
            )
            found = [from_item(Reward, item) for item in page.items]
            if status is not None:
                found = [r for r in found if r.status == status]
            return found, page.cursor
        if status is not None:
            return self.with_status(status, limit=limit, cursor=cursor)
        page = self._table.query(
            keys.REWARDS_INDEX, index="gsi1", forward=False, limit=limit, cursor=cursor
        )
        return [from_item(Reward, item) for item in page.items], page.cursor

    def each_with_status(
        self,
        status: RewardStatus,
        *,
        changed_after: datetime | None = None,
        changed_before: datetime | None = None,
    ) -> Iterator[Reward]:
        """Every entry in `status` last changed in the range, oldest change first, read a
        page at a time as it is consumed."""
        cursor: str | None = None
        while True:
            rewards, cursor = self.with_status(
                status,
                changed_after=changed_after,
                changed_before=changed_before,
                limit=PAGE,
                cursor=cursor,
            )
            yield from rewards
            if cursor is None:
                return

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

    # --- read through to the budget and the advocate's counters ------------------------

    def budget_left(self, program_id: str) -> Decimal | None:
        return self._budget.left(program_id)

    def rewarded_referrals(self, advocate_id: str) -> tuple[int, bool]:
        """The advocate's count of rewarded referrals, and whether the counter exists yet."""
        return self._counters.rewarded_referrals(advocate_id)

    @staticmethod
    def cap_slot_op(advocate_id: str, seen: int, exists: bool) -> Update:
        return take_slot_op(advocate_id, seen, exists)

    # --- refunds ------------------------------------------------------------------------

    def refund_op(self, record: RefundRecord) -> Put:
        pk, sk = keys.refund(record.referral_id, record.order_id, record.body_hash)
        return Put({"pk": pk, "sk": sk, "type": "refund", "doc": to_doc(record)}, NotExists())

    def record_refund(self, record: RefundRecord, *, within: Changes) -> None:
        """Keep the refund's record with `within`, once (a replay is refused: read again)."""
        within.stage(self.refund_op(record))

    def add_refunded(
        self,
        referral_id: str,
        order_id: str,
        *,
        order_amount: Decimal,
        seen: Decimal,
        exists: bool,
        amount: Decimal,
        within: Changes,
    ) -> None:
        """Add `amount` to the order's refunded total with `within`; refused (read again)
        if another refund of the order was written since `seen` was read."""
        within.stage(
            self.refund_total_op(
                referral_id,
                order_id,
                order_amount=order_amount,
                seen=seen,
                exists=exists,
                amount=amount,
            )
        )

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
