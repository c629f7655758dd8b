"""What merchants read about referrals and advocates: list filters and an advocate's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared.domain.advocates import Advocate
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardStatus

# Which reward statuses each summary figure adds up. "paid" is inside "earned": a sent
# reward is earned, and paid once the provider confirms it.
EARNED = frozenset({RewardStatus.SENT, RewardStatus.CONFIRMED})
PENDING = frozenset({RewardStatus.CREATED, RewardStatus.QUEUED})
PAID = frozenset({RewardStatus.CONFIRMED})
FIGURES: dict[str, frozenset[RewardStatus]] = {"earned": EARNED, "pending": PENDING, "paid": PAID}


@dataclass(frozen=True)
class Total:
    amount: Decimal
    currency: str


@dataclass
class AdvocateSummary:
    """An advocate with its referrals counted by status and its own rewards added up by
    figure and kind. `complete` is False when the advocate has more referrals than one
    summary reads: the figures then cover the oldest ones read."""

    advocate: Advocate
    referrals: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((s.value for s in ReferralStatus), 0)
    )
    rewards: dict[str, dict[str, Total]] = field(
        default_factory=lambda: {name: {} for name in FIGURES}
    )
    complete: bool = True

    def count(self, status: ReferralStatus) -> None:
        self.referrals[status.value] += 1

    def add(self, reward: Reward) -> None:
        """Add one of the advocate's rewards to each figure its status belongs to."""
        for name, statuses in FIGURES.items():
            if reward.status not in statuses:
                continue
            totals = self.rewards[name]
            kind = str(reward.kind)
            before = totals.get(kind, Total(Decimal(0), reward.currency))
            totals[kind] = Total(before.amount + reward.amount, reward.currency)
