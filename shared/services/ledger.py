"""The reward ledger as the jobs and handlers use it: reading entries, moving one entry
through its states with optimistic concurrency, and closing a referral once paid."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.changes import Contention
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardStatus, StaleReward

if TYPE_CHECKING:
    from shared.repositories.audit import AuditLog
    from shared.repositories.budget import ProgramBudget
    from shared.repositories.payout_figures import PayoutFigures
    from shared.repositories.referrals import ReferralRepository
    from shared.repositories.rewards import RewardRepository
    from shared.repositories.unit_of_work import Changes, UnitOfWork

# Each retry re-reads the entry and decides again; contention on one entry is rare and brief.
MAX_ATTEMPTS = 8

# Something else to change in the same transaction as the entry.
Stage = Callable[["Changes"], None]


@dataclass(frozen=True)
class Change:
    """The entry's next state, and what must change with it atomically."""

    reward: Reward
    also: Sequence[Stage] = ()


Decide = Callable[[Reward], Change | None]


@dataclass(frozen=True)
class Applied:
    """The entry after `apply`, and whether this call is the one that changed it."""

    reward: Reward
    changed: bool


def by_creation(rewards: list[Reward]) -> list[Reward]:
    return sorted(rewards, key=lambda r: (r.created_at, r.reward_id))


class RewardLedger:
    def __init__(
        self,
        clock: Clock,
        changes: UnitOfWork,
        *,
        rewards: RewardRepository,
        referrals: ReferralRepository,
        budget: ProgramBudget,
        audit: AuditLog,
        figures: PayoutFigures,
    ) -> None:
        self._clock = clock
        self._changes = changes
        self._rewards = rewards
        self._referrals = referrals
        self._budget = budget
        self._audit = audit
        self._figures = figures

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
        return self._rewards.page(
            referral_id=referral_id, status=status, limit=limit, cursor=cursor
        )

    # --- writes -------------------------------------------------------------------------

    def apply(self, referral_id: str, reward_id: str, decide: Decide) -> Applied | None:
        """Read the entry, let `decide` pick its next state, write it if nobody moved it
        meanwhile; otherwise read again and decide again. None if there is no such entry.
        What else the change stages may refuse it with its own error (`BudgetShort`...)."""
        for _ in range(MAX_ATTEMPTS):
            current = self._rewards.get(referral_id, reward_id)
            if current is None:
                return None
            change = decide(current)
            if change is None:
                return Applied(current, changed=False)
            changes = self._changes.begin()
            self._rewards.stage_save(change.reward, current.version, within=changes)
            for stage in change.also:
                stage(changes)
            try:
                changes.commit()
            except Contention:
                continue
            return Applied(change.reward, changed=True)
        raise StaleReward(reward_id)

    def failed(self, reward: Reward, reason: str, at: datetime) -> Change:
        """The payout will not happen: the entry fails and its amount returns to the budget."""
        return Change(
            reward.moved(RewardStatus.FAILED, at, failure_reason=reason, last_error=reason),
            (self._give_back(reward),),
        )

    def never_paid(self, reward: Reward, at: datetime) -> Change:
        """A clawed-back entry whose payout never happened: cancelled, budget returned."""
        return Change(
            reward.moved(RewardStatus.CANCELLED, at, last_error="clawed back before any payout"),
            (self._give_back(reward),),
        )

    def _give_back(self, reward: Reward) -> Stage:
        def stage(changes: Changes) -> None:
            self._budget.give_back(reward.program_id, reward.amount, within=changes)

        return stage

    def settle_referral(self, referral_id: str | None, actor: str) -> bool:
        """Move a `rewarding` referral to `rewarded` once every entry of its release is
        confirmed (a later order's commission does not hold it back; a campaign entry, filed
        under no referral, settles nothing).

        Entries sit in the referral's partition and are read strongly consistently after
        the caller's own confirmation, so of two entries confirmed at once the later
        writer always sees both.
        """
        if referral_id is None:
            return False
        for _ in range(MAX_ATTEMPTS):
            referral = self._referrals.get(referral_id)
            if referral is None or referral.status != ReferralStatus.REWARDING:
                return False
            # Later orders' commissions come and go after the referral is rewarded.
            rewards = [r for r in self._rewards.of_referral(referral_id) if r.order_id is None]
            if any(r.status != RewardStatus.CONFIRMED for r in rewards):
                return False
            now = self._clock.now()
            settled = referral.move(ReferralStatus.REWARDED, now)
            entry = AuditEntry.record(
                now,
                actor,
                "referral.rewarded",
                referral_id=referral_id,
                program_id=referral.program_id,
                before={"status": referral.status.value},
                after={"status": ReferralStatus.REWARDED.value},
                details={"rewards": [r.reward_id for r in rewards]},
            )
            qualified_at = referral.qualified_at or referral.occurred_at
            seconds = max(0, int((now - qualified_at).total_seconds()))
            changes = self._changes.begin()
            self._referrals.stage_save(settled, referral.version, within=changes)
            self._audit.append(entry, within=changes)
            self._figures.count_settled(referral.program_id, seconds, within=changes)
            try:
                changes.commit()
            except Contention:
                continue
            return True
        return False
