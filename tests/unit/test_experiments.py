"""Incentive experiments: deterministic weighted assignment, and the statistics that
compare variants (Wilson score interval, pooled two-proportion z-test)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.experiments import (
    VariantTermsFixed,
    assign,
    revise,
    two_proportion_z_test,
    wilson_interval,
)
from shared.domain.programs import Program, RewardTerms, Variant
from tests.support import T0


def _terms(amount: str) -> RewardTerms:
    return RewardTerms(kind="gift_card", amount=Decimal(amount), currency="USD")


def _variant(name: str, weight: int, amount: str = "10.00", active: bool = True) -> Variant:
    return Variant(name=name, weight=weight, advocate_reward=_terms(amount), active=active)


def _program(program_id: str, variants: list[Variant]) -> Program:
    return Program(
        program_id=program_id,
        name="experiment",
        qualifying_event="purchase",
        advocate_reward=_terms("10.00"),
        tiers=[],
        attribution_window_days=30,
        holding_period_days=0,
        currency="USD",
        budget_total=Decimal("1000.00"),
        review_timeout_days=30,
        review_timeout_action="reject",
        auto_reject=True,
        started_at=T0,
        created_at=T0,
        updated_at=T0,
        variants=variants,
    )


ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_@.", min_size=1, max_size=40)
weights = st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=5)


# --- assignment -------------------------------------------------------------------------


@given(program_id=ids, customer_id=ids, weights=weights)
def test_the_same_program_and_customer_always_get_the_same_variant(
    program_id: str, customer_id: str, weights: list[int]
) -> None:
    # Given a program with weighted variants
    variants = [_variant(f"v{i}", w) for i, w in enumerate(weights)]

    # When the customer is assigned twice, once on a program object read afresh
    first = assign(_program(program_id, variants), customer_id)
    again = assign(_program(program_id, [v.model_copy() for v in variants]), customer_id)

    # Then both assignments name the same variant, one of the program's
    assert first == again
    assert first in {v.name for v in variants}


@settings(max_examples=15, deadline=None)
@given(program_id=ids, weights=weights)
def test_over_many_customers_the_shares_approach_the_weights(
    program_id: str, weights: list[int]
) -> None:
    # Given weighted variants and 4,000 customers enrolling
    variants = [_variant(f"v{i}", w) for i, w in enumerate(weights)]
    program = _program(program_id, variants)
    customers = 4_000

    # When each is assigned
    shares = Counter(assign(program, f"customer-{n}") for n in range(customers))

    # Then each variant's share is within 3.5 points of its weight's share (over 5 standard
    # errors of a fair split at this size)
    total = sum(weights)
    for variant in variants:
        assert abs(shares[variant.name] / customers - variant.weight / total) < 0.035


def test_a_program_without_variants_assigns_default() -> None:
    assert assign(_program("prg_plain", []), "c-1") == "default"


def test_retired_variants_are_never_assigned() -> None:
    # Given one active and one retired variant
    program = _program("prg_r", [_variant("kept", 1), _variant("gone", 100, active=False)])

    # Then every customer gets the active one
    assert {assign(program, f"c-{n}") for n in range(200)} == {"kept"}


# --- revising the variants --------------------------------------------------------------


def test_a_variant_left_out_of_an_update_is_retired_and_keeps_its_rewards() -> None:
    current = [_variant("a", 1, "10.00"), _variant("b", 1, "15.00")]

    revised = revise(current, [_variant("a", 3, "10.00")])

    assert [(v.name, v.weight, v.active) for v in revised] == [("a", 3, True), ("b", 1, False)]
    assert revised[1].advocate_reward == _terms("15.00")


def test_an_update_cannot_change_a_defined_variants_rewards() -> None:
    current = [_variant("a", 1, "10.00")]

    with pytest.raises(VariantTermsFixed) as refused:
        revise(current, [_variant("new", 1, "5.00"), _variant("a", 1, "12.00")])

    assert (refused.value.index, refused.value.name) == (1, "a")


# --- Wilson score interval --------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        # Statistics in Medicine 17, table II, method 3 (Wilson score, no correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_the_textbook_values(
    successes: int, trials: int, low: float, high: float
) -> None:
    interval = wilson_interval(successes, trials)

    assert interval is not None
    assert interval[0] == pytest.approx(low, abs=5e-5)
    assert interval[1] == pytest.approx(high, abs=5e-5)


@given(trials=st.integers(min_value=1, max_value=100_000), data=st.data())
def test_wilson_interval_holds_the_rate_within_zero_and_one(
    trials: int, data: st.DataObject
) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=trials))

    interval = wilson_interval(successes, trials)

    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_wilson_interval_agrees_with_scipy() -> None:
    expected = scipy.stats.binomtest(37, 120).proportion_ci(0.95, method="wilson")

    interval = wilson_interval(37, 120)

    assert interval == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_no_trials_have_no_interval() -> None:
    assert wilson_interval(0, 0) is None


# --- two-proportion z-test --------------------------------------------------------------


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(30, 100, 18, 100), (5, 40, 9, 60), (120, 1000, 100, 1000), (1, 3, 0, 7)],
)
def test_z_test_p_value_agrees_with_scipy(x1: int, n1: int, x2: int, n2: int) -> None:
    # The pooled z-test is the uncorrected chi-square test of the 2x2 table: z^2 = chi^2
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    chi2 = scipy.stats.chi2_contingency(table, correction=False)

    test = two_proportion_z_test(x1, n1, x2, n2)

    assert test is not None
    assert test.p_value == pytest.approx(float(chi2.pvalue), rel=1e-9)
    assert test.z**2 == pytest.approx(float(chi2.statistic), rel=1e-9)
    assert test.p_value == pytest.approx(2 * float(scipy.stats.norm.sf(abs(test.z))), rel=1e-9)


def test_z_is_positive_when_the_first_proportion_is_higher_and_significance_is_at_5_percent() -> (
    None
):
    clear = two_proportion_z_test(30, 100, 18, 100)
    unclear = two_proportion_z_test(25, 100, 20, 100)

    assert clear is not None and clear.z > 0 and clear.significant
    assert unclear is not None and not unclear.significant


def test_identical_all_or_nothing_rates_are_not_told_apart() -> None:
    test = two_proportion_z_test(0, 10, 0, 12)

    assert test is not None and (test.z, test.p_value, test.significant) == (0.0, 1.0, False)


def test_no_referrals_on_a_side_is_no_test() -> None:
    assert two_proportion_z_test(3, 10, 0, 0) is None
