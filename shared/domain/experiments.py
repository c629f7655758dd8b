"""Incentive experiments: which variant an advocate gets, and how the variants compare.

An advocate is assigned at enrolment by a stable hash of (program, customer) over the
active variants' weights, and keeps the variant for good: a later change of weights moves
nobody already enrolled. The statistics are the textbook ones, in the standard library:
a Wilson score interval for each conversion rate and a pooled two-proportion z-test
between the leading variant and the runner-up.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.programs import DEFAULT_VARIANT, Program, Variant

# The two-sided 95% normal quantile, and the level a difference is called significant at.
Z_95 = 1.959963984540054
SIGNIFICANCE = 0.05


def bucket(program_id: str, customer_id: str, total_weight: int) -> int:
    """A number in [0, total_weight) fixed by the program and the customer alone."""
    digest = hashlib.sha256(f"{program_id}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % total_weight


def assign(program: Program, customer_id: str) -> str:
    """The variant a customer enrolling now gets: `default` when the program has none."""
    active = [v for v in program.variants if v.active]
    if not active:
        return DEFAULT_VARIANT
    point = bucket(program.program_id, customer_id, sum(v.weight for v in active))
    for variant in active:
        if point < variant.weight:
            return variant.name
        point -= variant.weight
    raise AssertionError("the bucket lies within the total weight")  # pragma: no cover


class VariantTermsFixed(Exception):
    """An update gave a variant advocates may hold other rewards than it has."""

    def __init__(self, index: int, name: str) -> None:
        super().__init__(name)
        self.index = index
        self.name = name


def revise(current: Sequence[Variant], proposed: Sequence[Variant]) -> list[Variant]:
    """The program's variants after an update that lists `proposed` as the active ones.

    Weights may change and variants may be added. A variant left out is retired: nobody
    new gets it, and the advocates who hold it keep its rewards. A variant's rewards never
    change once defined (its advocates were promised them): another reward under a known
    name raises `VariantTermsFixed`.
    """
    known = {v.name: v for v in current}
    for index, variant in enumerate(proposed):
        before = known.get(variant.name)
        if before is not None and _terms(before) != _terms(variant):
            raise VariantTermsFixed(index, variant.name)
    named = {v.name for v in proposed}
    retired = [v.model_copy(update={"active": False}) for v in current if v.name not in named]
    return [v.model_copy(update={"active": True}) for v in proposed] + retired


def _terms(variant: Variant) -> tuple[object, object]:
    return variant.advocate_reward, variant.referee_reward


# --- statistics -------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial proportion; None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # In exact arithmetic low <= p <= high; held so in floating point too (0/n is 0 and
    # n/n is 1, not a rounding error away).
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> ZTest | None:
    """The pooled two-proportion z-test of x1/n1 against x2/n2, two-sided.

    None when a side has no trials; z = 0 and p = 1 when the pooled rate is 0 or 1 (no
    variance: nothing tells the two apart).
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return ZTest(z=0.0, p_value=1.0)
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return ZTest(z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))
