"""Where the model's review and reject lines sit for one program: priced, not global.

A referral's mistakes cost money, and how much depends on what the program pays. With the
model's fraud probability `p` and `V` the money the referral's two rewards are worth:

- approving costs `p * V`: the fraud paid out;
- a review costs a reviewer's time `R`, a delay a legitimate friend minds (`d * V`, with
  probability `1 - p`) and the fraud a reviewer misses (`p * (1 - c) * V`);
- refusing costs a wrongly refused friend, `m * V`, with probability `1 - p`: their reward
  and the customer they would have become.

The cheapest action wins, which puts the lines at

    review from p_r = (R + d V) / ((c + d) V)
    reject from p_j = (m V - d V - R) / ((m - d + 1 - c) V)

so a program paying 10 a side reviews from 25% and one paying 100 a side from 11.5%, while a
refusal needs a probability near 90%: a refused friend costs more than the reward. Where a
review never pays for itself (rewards worth less than a reviewer's time), both lines sit
where approving and refusing cost the same, `m / (1 + m)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shared.domain.programs import Program, RewardTerms
from shared.scoring.thresholds import (
    REFUSAL_COST_MULTIPLE,
    REVIEW_COST,
    REVIEW_DELAY_SHARE,
    REVIEWER_CATCH,
)


@dataclass(frozen=True)
class MistakeCosts:
    """What each mistake costs, in the program's currency or as a share of the rewards."""

    review: Decimal = REVIEW_COST
    delay_share: Decimal = REVIEW_DELAY_SHARE
    reviewer_catch: Decimal = REVIEWER_CATCH
    refusal_multiple: Decimal = REFUSAL_COST_MULTIPLE


@dataclass(frozen=True)
class PricedLines:
    """The model's review and reject lines on its 0-100 score, and the value they price."""

    referral_value: Decimal
    review_at: float
    reject_at: float


class RewardSides(Protocol):
    """A program, or the command that creates one: what each side of a referral is paid."""

    @property
    def advocate_reward(self) -> RewardTerms | None: ...

    @property
    def referee_reward(self) -> RewardTerms | None: ...


def referral_value(program: RewardSides) -> Decimal:
    """The money one rewarded referral costs the program: both sides' per-referral rewards,
    points at their point value (a milestone bonus is paid once per tier, not per referral)."""
    sides = (program.advocate_reward, program.referee_reward)
    return sum((terms.amount for terms in sides if terms is not None), Decimal(0))


def priced_lines(value: Decimal, costs: MistakeCosts = MistakeCosts()) -> PricedLines | None:
    """The lines for a referral worth `value`; None when it pays nothing (nothing to price)."""
    if value <= 0:
        return None
    r, d, c, m = costs.review, costs.delay_share, costs.reviewer_catch, costs.refusal_multiple
    review = (r + d * value) / ((c + d) * value)
    reject = (m * value - d * value - r) / ((m - d + 1 - c) * value)
    if review >= reject:
        # A review costs more than it saves at every probability: approve or refuse, at
        # the probability where the fraud paid equals the friend wrongly refused.
        review = reject = m / (1 + m)
    return PricedLines(value, _percent(review), _percent(reject))


def lines_for(program: Program, costs: MistakeCosts = MistakeCosts()) -> PricedLines | None:
    return priced_lines(referral_value(program), costs)


def _percent(probability: Decimal) -> float:
    return float(min(max(probability, Decimal(0)), Decimal(1)) * 100)


@dataclass(frozen=True)
class ProbabilityKnots:
    """The model's score (0-100) against the fraud probability (0-100) it stood for on
    labelled validation rows: a monotone step curve from training (isotonic regression).

    The score ranks well but is no probability (an anomaly term lifts every score), so a
    priced line, which is a probability, is read back onto the score through these knots.
    """

    scores: tuple[float, ...]
    probabilities: tuple[float, ...]

    @classmethod
    def from_manifest(cls, manifest: object) -> ProbabilityKnots | None:
        if not isinstance(manifest, dict):
            return None
        raw = manifest.get("fraud_probability")
        if not isinstance(raw, dict) or not raw.get("scores"):
            return None
        return cls(tuple(map(float, raw["scores"])), tuple(map(float, raw["probabilities"])))

    def score_at(self, probability: float) -> float:
        """The lowest score whose fraud probability reaches `probability`; 100 (only a
        certain score) when no validated score does."""
        for i, reached in enumerate(self.probabilities):
            if reached >= probability:
                if i == 0 or reached == self.probabilities[i - 1]:
                    return self.scores[i]
                low_s, low_p = self.scores[i - 1], self.probabilities[i - 1]
                share = (probability - low_p) / (reached - low_p)
                return low_s + share * (self.scores[i] - low_s)
        return 100.0

    def on_scores(self, lines: PricedLines) -> PricedLines:
        return PricedLines(
            lines.referral_value, self.score_at(lines.review_at), self.score_at(lines.reject_at)
        )
