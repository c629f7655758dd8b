"""The program's payout figures for the stats endpoint, counted with the ledger change
that makes them true (see `ProgramCounters`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

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
        by_variant: dict[str, dict[str, Decimal | int]] = {}
        for reward in rewards:
            deltas = by_variant.setdefault(reward.variant, {})
            amount_key, count_key = paid_amount(reward.kind), paid_count(reward.kind)
            deltas[amount_key] = Decimal(deltas.get(amount_key, 0)) - reward.amount
            deltas[count_key] = int(deltas.get(count_key, 0)) - 1
        for variant, deltas in by_variant.items():
            ProgramCounters.count(program_id, deltas, within=within, variant=variant)

    @staticmethod
    def count_reversed(referral: Referral, *, within: Changes) -> None:
        """A scored referral reversed: one more for its variant's fraud rate."""
        if referral.risk is not None:
            ProgramCounters.count(
                referral.program_id,
                {Counter.REVERSED: 1},
                within=within,
                variant=referral.variant,
            )
