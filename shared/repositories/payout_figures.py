"""The program's payout figures for the stats endpoint, counted with the ledger change
that makes them true (see `ProgramCounters`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from shared.domain.counters import with_variant
from shared.domain.referrals import Referral
from shared.domain.rewards import Reward
from shared.repositories.stats import Counter, ProgramCounters, paid_amount, paid_count
from shared.repositories.unit_of_work import Changes


class PayoutFigures:
    @staticmethod
    def count_settled(program_id: str, seconds: int, *, within: Changes) -> None:
        """One more referral rewarded, `seconds` after its qualifying event."""
        ProgramCounters.count(
            program_id, {Counter.PAYOUTS: 1, Counter.PAYOUT_SECONDS: seconds}, within=within
        )

    @staticmethod
    def count_paid(reward: Reward, *, within: Changes) -> None:
        """The entry's payout is confirmed: its amount and one more of its kind."""
        ProgramCounters.count(
            reward.program_id,
            {paid_amount(reward.kind): reward.amount, paid_count(reward.kind): 1},
            within=within,
            variant=reward.variant,
        )

    @staticmethod
    def count_unpaid(program_id: str, rewards: Iterable[Reward], *, within: Changes) -> None:
        """Confirmed entries clawed back: their amounts and counts come off (if any)."""
        deltas = _unpaid(rewards)
        if deltas:
            ProgramCounters.count(program_id, deltas, within=within)

    @staticmethod
    def count_reversal(referral: Referral, unpaid: Iterable[Reward], *, within: Changes) -> None:
        """The referral reversed: `unpaid` (its confirmed entries clawed back) come off the
        paid figures and, once scored, it counts as reversed for its variant's fraud rate.
        One write: a transaction may not touch one counter shard twice."""
        deltas = _unpaid(unpaid)
        if referral.risk is not None:
            deltas = _added(deltas, with_variant({Counter.REVERSED: 1}, referral.variant))
        if deltas:
            ProgramCounters.count(referral.program_id, deltas, within=within)


def _unpaid(rewards: Iterable[Reward]) -> dict[str, Decimal | int]:
    """The paid figures' deltas of clawing `rewards` back, program-wide and per variant."""
    deltas: dict[str, Decimal | int] = {}
    for reward in rewards:
        taken: dict[str, Decimal | int] = {
            paid_amount(reward.kind): -reward.amount,
            paid_count(reward.kind): -1,
        }
        deltas = _added(deltas, with_variant(taken, reward.variant))
    return deltas


def _added(
    deltas: Mapping[str, Decimal | int], more: Mapping[str, Decimal | int]
) -> dict[str, Decimal | int]:
    total = dict(deltas)
    for name, delta in more.items():
        total[name] = total.get(name, 0) + delta
    return total
