"""The stats of a program's incentive variants, and the comparison of the leading two."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from shared.schemas.common import MoneyOut, Out

if TYPE_CHECKING:  # only the `of` builders use them
    from shared.services.experiment_stats import Comparison, VariantStats

_PLACES = 4


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, _PLACES)


class VariantStatsOut(Out):
    name: str = Field(description='The variant; "default" is the program\'s own rewards')
    advocates: int = Field(description="Advocates assigned the variant at enrolment")
    referrals: int
    conversions: int = Field(description="Referrals with a qualifying event")
    conversion_rate: float | None = Field(description="conversions per referral")
    conversion_rate_interval: list[float] | None = Field(
        description="[low, high]: the 95% Wilson score interval of the conversion rate",
        min_length=2,
        max_length=2,
    )
    reward_cost_per_conversion: MoneyOut | None = Field(
        description="Rewards confirmed paid on the variant's referrals (less clawbacks), "
        "per conversion"
    )
    fraud_rate: float | None = Field(
        description="Of the variant's scored referrals, the share rejected or reversed"
    )

    @classmethod
    def of(cls, stats: VariantStats, currency: str) -> VariantStatsOut:
        interval = stats.conversion_rate_interval
        cost = stats.reward_cost_per_conversion
        return cls(
            name=stats.name,
            advocates=stats.advocates,
            referrals=stats.referrals,
            conversions=stats.conversions,
            conversion_rate=_rounded(stats.conversion_rate),
            conversion_rate_interval=None
            if interval is None
            else [round(interval[0], _PLACES), round(interval[1], _PLACES)],
            reward_cost_per_conversion=None if cost is None else MoneyOut.of(cost, currency),
            fraud_rate=_rounded(stats.fraud_rate),
        )


class ComparisonOut(Out):
    leader: str = Field(description="The variant with the highest conversion rate")
    runner_up: str = Field(description="The variant with the next highest")
    z: float = Field(description="Pooled two-proportion z statistic, leader minus runner-up")
    p_value: float = Field(description="Two-sided p-value of the z-test")
    significant: bool = Field(description="p_value below 0.05")

    @classmethod
    def of(cls, comparison: Comparison | None) -> ComparisonOut | None:
        if comparison is None:
            return None
        test = comparison.test
        return cls(
            leader=comparison.leader,
            runner_up=comparison.runner_up,
            z=round(test.z, _PLACES),
            p_value=test.p_value,
            significant=test.significant,
        )
