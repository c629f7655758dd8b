"""The model's review and reject lines are priced per program from what its rewards are worth."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.scoring.policy import MistakeCosts, ProbabilityKnots, priced_lines

COSTS = MistakeCosts()


def _expected_costs(p: float, value: float, costs: MistakeCosts) -> dict[str, float]:
    r, d = float(costs.review), float(costs.delay_share)
    c, m = float(costs.reviewer_catch), float(costs.refusal_multiple)
    return {
        "approve": p * value,
        "review": r + (1 - p) * d * value + p * (1 - c) * value,
        "reject": (1 - p) * m * value,
    }


def test_a_richer_program_reviews_at_a_lower_probability() -> None:
    # Given two programs, one paying 10 a side and one 100 a side
    small = priced_lines(Decimal("20"))
    large = priced_lines(Decimal("200"))
    # Then the larger rewards are worth a reviewer's time sooner
    assert small is not None and large is not None
    assert large.review_at < small.review_at


def test_a_refusal_needs_more_certainty_than_a_review() -> None:
    for value in ("5", "20", "200", "5000"):
        lines = priced_lines(Decimal(value))
        assert lines is not None
        assert lines.reject_at >= lines.review_at


def test_a_program_that_pays_nothing_has_no_priced_lines() -> None:
    assert priced_lines(Decimal("0")) is None


@given(
    value=st.decimals(min_value=Decimal("1"), max_value=Decimal("10000"), places=2),
    p=st.floats(min_value=0.0, max_value=1.0),
)
def test_the_lines_pick_the_cheapest_action(value: Decimal, p: float) -> None:
    # Given a referral worth `value` that the model gives fraud probability `p`
    lines = priced_lines(value, COSTS)
    assert lines is not None
    score = 100 * p
    # When the lines decide
    if score >= lines.reject_at:
        chosen = "reject"
    elif score >= lines.review_at:
        chosen = "review"
    else:
        chosen = "approve"
    # Then no other action is expected to cost less (up to rounding at a line)
    costs = _expected_costs(p, float(value), COSTS)
    assert costs[chosen] <= min(costs.values()) + 1e-6 * float(value) + 1e-9


@pytest.mark.parametrize(("value", "review"), [("20", 25.0), ("200", 11.5)])
def test_the_review_line_for_typical_programs(value: str, review: float) -> None:
    lines = priced_lines(Decimal(value))
    assert lines is not None
    assert lines.review_at == pytest.approx(review, abs=0.01)


class _ConstantModel:
    """A model that gives every referral the same fraud probability."""

    version = "constant-1"
    thresholds = {"review": 50.0, "reject": 90.0}
    # Its score is its fraud probability.
    manifest = {"fraud_probability": {"scores": [0.0, 100.0], "probabilities": [0.0, 100.0]}}

    def __init__(self, score: float) -> None:
        from shared.scoring.feature_spec import FEATURE_NAMES

        self.feature_names = FEATURE_NAMES
        self._score = score

    def score(self, matrix: object) -> list[float]:
        return [self._score]

    def explain(self, row: object) -> list[tuple[str, float, float]]:
        return [("advocate_referrals_1h", 0.1, 0.0)]


def _decision_in_program(score: float, side: str) -> str:
    from shared.scoring.serving import ModelJudge
    from tests.unit.scoring_support import World

    world = World(model=ModelJudge(_ConstantModel(score)))
    reward = {"kind": "cash", "amount": side, "currency": "USD"}
    program = world.program(
        rewards={"advocate": reward, "referee": reward}, dual_approval_over=None
    )
    referral = world.qualify(world.refer(world.advocate(program)))
    assert referral.risk is not None
    return referral.risk.decision


def test_a_model_without_probability_knots_keeps_its_trained_lines() -> None:
    from shared.scoring.serving import ModelJudge

    model = _ConstantModel(20.0)
    model.manifest = {}
    assert ModelJudge(model).knots is None


def test_the_same_probability_is_reviewed_where_rewards_are_large() -> None:
    # Given a model that says 20% for every referral
    # When one program pays 100 a side and another 10 a side
    # Then the large program's referral is worth a look and the small one's is not
    assert _decision_in_program(20.0, "100.00") == "review"
    assert _decision_in_program(20.0, "10.00") == "approve"


class TestProbabilityKnots:
    KNOTS = ProbabilityKnots(scores=(10.0, 50.0, 90.0), probabilities=(0.0, 20.0, 80.0))

    def test_a_probability_between_knots_is_read_back_linearly(self) -> None:
        assert self.KNOTS.score_at(50.0) == pytest.approx(70.0)

    def test_a_probability_on_a_knot_is_that_knots_score(self) -> None:
        assert self.KNOTS.score_at(20.0) == pytest.approx(50.0)

    def test_a_probability_no_validated_score_reached_needs_a_certain_score(self) -> None:
        assert self.KNOTS.score_at(95.0) == 100.0

    def test_a_flat_step_is_entered_at_its_first_score(self) -> None:
        flat = ProbabilityKnots(scores=(10.0, 40.0, 60.0), probabilities=(5.0, 30.0, 30.0))
        assert flat.score_at(30.0) == pytest.approx(40.0)
