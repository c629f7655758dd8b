"""Program statistics from counters kept by the writers, never from scanning referrals.

Reading them is two requests whatever the program's size: the program item (budget) and
one query over its counter shards (see `shared.repositories.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, get_args

from shared.domain.counters import Counter, paid_amount, paid_count
from shared.domain.programs import Program, RewardKind
from shared.errors import NotFound
from shared.services.experiment_stats import Comparison, VariantStats, compare, variant_stats

REWARD_KINDS: tuple[str, ...] = get_args(RewardKind)


@dataclass(frozen=True)
class PaidByKind:
    kind: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class ProgramStats:
    program: Program
    referrals: int
    qualified: int
    flagged: int
    rejected: int
    paid: list[PaidByKind]
    payouts: int
    payout_seconds: Decimal
    variants: list[VariantStats] = field(default_factory=list)
    comparison: Comparison | None = None

    @property
    def conversion_rate(self) -> Decimal | None:
        """Qualifying conversions per recorded referral."""
        return _ratio(self.qualified, self.referrals)

    @property
    def fraud_rate(self) -> Decimal | None:
        """Rejected referrals per recorded referral."""
        return _ratio(self.rejected, self.referrals)

    @property
    def mean_seconds_to_payout(self) -> Decimal | None:
        """From the qualifying event to the last reward of the referral confirmed."""
        if self.payouts <= 0:
            return None
        return (self.payout_seconds / self.payouts).quantize(Decimal(1))

    @property
    def paid_total(self) -> Decimal:
        return sum((p.amount for p in self.paid), Decimal(0))


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


class Programs(Protocol):
    def get(self, program_id: str) -> Program | None: ...


class CounterTotals(Protocol):
    def totals(self, program_id: str) -> dict[str, Decimal]: ...


class StatsService:
    def __init__(self, programs: Programs, counters: CounterTotals) -> None:
        self._programs = programs
        self._counters = counters

    def for_program(self, program_id: str) -> ProgramStats:
        program = self._programs.get(program_id)
        if program is None:
            raise NotFound(f"no program {program_id}")
        totals = self._counters.totals(program_id)

        def count(name: str) -> int:
            return int(totals.get(name, Decimal(0)))

        variants = variant_stats(program, totals)
        return ProgramStats(
            program=program,
            referrals=count(Counter.REFERRALS),
            qualified=count(Counter.QUALIFIED),
            flagged=count(Counter.FLAGGED),
            rejected=count(Counter.REJECTED),
            paid=[
                PaidByKind(
                    kind=kind,
                    count=count(paid_count(kind)),
                    amount=totals.get(paid_amount(kind), Decimal(0)),
                )
                for kind in REWARD_KINDS
            ],
            payouts=count(Counter.PAYOUTS),
            payout_seconds=totals.get(Counter.PAYOUT_SECONDS, Decimal(0)),
            variants=variants,
            comparison=compare(variants),
        )
