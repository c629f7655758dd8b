"""Each incentive variant's figures, and the leading variant against the runner-up.

Read from the per-variant counters the writers keep beside the program's own (same shard
items, same transactions; see `shared.domain.counters.of_variant`), so the stats read
stays one read of each counter shard however many referrals a variant has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import get_args

from shared.domain.counters import Counter, of_variant, paid_amount, variant_of
from shared.domain.experiments import ZTest, two_proportion_z_test, wilson_interval
from shared.domain.programs import DEFAULT_VARIANT, Program, RewardKind

_MONEY_KINDS: tuple[str, ...] = get_args(RewardKind)


@dataclass(frozen=True)
class VariantStats:
    name: str
    advocates: int
    referrals: int
    conversions: int
    scored: int
    rejected: int
    reversed: int
    # Rewards confirmed paid (less clawbacks) on the variant's referrals.
    reward_cost: Decimal

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.referrals if self.referrals > 0 else None

    @property
    def conversion_rate_interval(self) -> tuple[float, float] | None:
        """The 95% Wilson score interval of the conversion rate."""
        return wilson_interval(self.conversions, self.referrals)

    @property
    def reward_cost_per_conversion(self) -> Decimal | None:
        return self.reward_cost / self.conversions if self.conversions > 0 else None

    @property
    def fraud_rate(self) -> float | None:
        """Of its scored referrals, the share rejected or reversed."""
        if self.scored <= 0:
            return None
        return min(1.0, (self.rejected + self.reversed) / self.scored)


@dataclass(frozen=True)
class Comparison:
    leader: str
    runner_up: str
    test: ZTest


def variant_stats(program: Program, totals: Mapping[str, Decimal]) -> list[VariantStats]:
    """The program's variants, in the order it lists them, then any other variant with
    advocates or referrals counted (`default` among them, and retired ones)."""
    active = [_of(v.name, totals) for v in program.variants if v.active]
    counted = {found[0] for found in map(variant_of, totals) if found is not None}
    others = sorted(counted - {v.name for v in active}, key=lambda n: (n != DEFAULT_VARIANT, n))
    return active + [
        figures
        for figures in (_of(name, totals) for name in others)
        if figures.advocates > 0 or figures.referrals > 0
    ]


def compare(variants: list[VariantStats]) -> Comparison | None:
    """The variant with the highest conversion rate against the next one; None with fewer
    than two variants that have referrals."""
    ranked = sorted(
        (v for v in variants if v.referrals > 0),
        key=lambda v: (-(v.conversion_rate or 0.0), -v.referrals, v.name),
    )
    if len(ranked) < 2:
        return None
    leader, runner_up = ranked[0], ranked[1]
    test = two_proportion_z_test(
        leader.conversions, leader.referrals, runner_up.conversions, runner_up.referrals
    )
    assert test is not None  # both have referrals
    return Comparison(leader=leader.name, runner_up=runner_up.name, test=test)


def _of(name: str, totals: Mapping[str, Decimal]) -> VariantStats:
    def count(figure: str) -> int:
        return int(totals.get(of_variant(name, figure), Decimal(0)))

    cost = sum(
        (totals.get(of_variant(name, paid_amount(kind)), Decimal(0)) for kind in _MONEY_KINDS),
        Decimal(0),
    )
    return VariantStats(
        name=name,
        advocates=count(Counter.ADVOCATES),
        referrals=count(Counter.REFERRALS),
        conversions=count(Counter.QUALIFIED),
        scored=count(Counter.SCORED),
        rejected=count(Counter.REJECTED),
        reversed=count(Counter.REVERSED),
        reward_cost=cost,
    )
