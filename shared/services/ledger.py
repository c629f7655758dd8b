"""The reward ledger as the jobs and handlers use it: reading entries, moving one entry
through its states with optimistic concurrency, and closing a referral once paid."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardStatus
from shared.ids import new_id
from shared.repositories import keys
from shared.repositories.audit import AuditLog
from shared.repositories.codec import from_item
from shared.repositories.referrals import ReferralRepository
from shared.repositories.rewards import RewardRepository, StaleReward
from shared.repositories.stats import Counter, ProgramCounters
from shared.storage.table import (
    ConditionFailed,
    KeyRange,
    Table,
    TransactionConflict,
    WriteOp,
)

# Each retry re-reads the entry and decides again; contention on one entry is rare and brief.
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Change:
    """The entry's next state, and what must be written with it atomically."""

    reward: Reward
    extra: Sequence[WriteOp] = ()


Decide = Callable[[Reward], Change | None]


@dataclass(frozen=True)
class Applied:
    """The entry after `apply`, and whether this call is the one that changed it."""

    reward: Reward
    changed: bool


def by_creation(rewards: list[Reward]) -> list[Reward]:
    return sorted(rewards, key=lambda r: (r.created_at, r.reward_id))


class RewardLedger:
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock
        self._rewards = RewardRepository(table)
        self._referrals = ReferralRepository(table)
        self._audit = AuditLog(table)

    @property
    def rewards(self) -> RewardRepository:
        return self._rewards

    # --- reads --------------------------------------------------------------------------

    def rewards_of(self, referral_id: str) -> list[Reward]:
        return by_creation(self._rewards.of_referral(referral_id))

    def list(
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
            return self._rewards.with_status(status, limit=limit, cursor=cursor)
        page = self._table.query(
            keys.REWARDS_INDEX, index="gsi1", forward=False, limit=limit, cursor=cursor
        )
        return [from_item(Reward, item) for item in page.items], page.cursor

    # --- writes -------------------------------------------------------------------------

    def apply(self, referral_id: str, reward_id: str, decide: Decide) -> Applied | None:
        """Read the entry, let `decide` pick its next state, write it if nobody moved it
        meanwhile; otherwise read again and decide again. None if there is no such entry."""
        for _ in range(MAX_ATTEMPTS):
            current = self._rewards.get(referral_id, reward_id)
            if current is None:
                return None
            change = decide(current)
            if change is None:
                return Applied(current, changed=False)
            try:
                self._table.write(
                    [self._rewards.save_op(change.reward, current.version), *change.extra]
                )
            except ConditionFailed as exc:
                if exc.index == 0:
                    continue
                raise
            except TransactionConflict:
                continue
            return Applied(change.reward, changed=True)
        raise StaleReward(reward_id)

    def failed(self, reward: Reward, reason: str, at: datetime) -> Change:
        """The payout will not happen: the entry fails and its amount returns to the budget."""
        return Change(
            reward.moved(RewardStatus.FAILED, at, failure_reason=reason, last_error=reason),
            (self._rewards.budget_return_op(reward.program_id, reward.amount),),
        )

    def never_paid(self, reward: Reward, at: datetime) -> Change:
        """A clawed-back entry whose payout never happened: cancelled, budget returned."""
        return Change(
            reward.moved(RewardStatus.CANCELLED, at, last_error="clawed back before any payout"),
            (self._rewards.budget_return_op(reward.program_id, reward.amount),),
        )

    def settle_referral(self, referral_id: str, actor: str) -> bool:
        """Move a `rewarding` referral to `rewarded` once every entry of it is confirmed.

        Entries sit in the referral's partition and are read strongly consistently after
        the caller's own confirmation, so of two entries confirmed at once the later
        writer always sees both.
        """
        for _ in range(MAX_ATTEMPTS):
            referral = self._referrals.get(referral_id)
            if referral is None or referral.status != ReferralStatus.REWARDING:
                return False
            rewards = self._rewards.of_referral(referral_id)
            if any(r.status != RewardStatus.CONFIRMED for r in rewards):
                return False
            now = self._clock.now()
            settled = referral.move(ReferralStatus.REWARDED, now)
            entry = AuditEntry(
                entry_id=new_id("aud"),
                at=now,
                actor=actor,
                action="referral.rewarded",
                referral_id=referral_id,
                program_id=referral.program_id,
                before={"status": referral.status.value},
                after={"status": ReferralStatus.REWARDED.value},
                details={"rewards": [r.reward_id for r in rewards]},
            )
            qualified_at = referral.qualified_at or referral.occurred_at
            seconds = max(0, int((now - qualified_at).total_seconds()))
            counted = ProgramCounters.add_op(
                referral.program_id, {Counter.PAYOUTS: 1, Counter.PAYOUT_SECONDS: seconds}
            )
            try:
                self._table.write(
                    [
                        self._referrals.save_op(settled, referral.version),
                        self._audit.entry_op(entry),
                        counted,
                    ]
                )
            except (ConditionFailed, TransactionConflict):
                continue
            return True
        return False
