"""Commissions: the advocate's percent of each qualifying order, rounded half-even to the
currency's minor unit and kept within [min, max]; a body that says otherwise is refused
naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.domain.commissions import Commission, clawback_for, commission_for
from shared.domain.rewards import RewardStatus, referral_of
from shared.http.problem import field_errors
from shared.schemas.programs import ProgramCreate, ProgramOut
from tests.support import program_body
from tests.unit.rewards.conftest import World

TEN_PERCENT = {"kind": "cash", "percent_of_order": "10", "currency": "USD"}


def commission_body(**reward: Any) -> dict[str, Any]:
    body = program_body()
    body["rewards"]["advocate"] = {**TEN_PERCENT, **reward}
    return body


def _refused_fields(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)
    return [e.field for e in field_errors(refused.value)]


@pytest.mark.parametrize("percent", ["0", "100.01", "250"])
def test_a_percent_outside_0_to_100_is_refused_naming_it(percent: str) -> None:
    assert _refused_fields(commission_body(percent_of_order=percent)) == [
        "rewards.advocate.percent_of_order"
    ]


def test_a_max_below_the_min_is_refused_naming_max() -> None:
    body = commission_body(min="5.00", max="4.00")

    assert _refused_fields(body) == ["rewards.advocate.max"]


def test_a_min_finer_than_the_currency_is_refused_naming_min() -> None:
    assert _refused_fields(commission_body(min="0.001")) == ["rewards.advocate.min"]


@pytest.mark.parametrize("months", [0, 37])
def test_recurring_months_outside_1_to_36_is_refused(months: int) -> None:
    assert _refused_fields({**commission_body(), "recurring_months": months}) == [
        "recurring_months"
    ]


def test_recurring_months_without_a_commission_is_refused() -> None:
    assert _refused_fields({**program_body(), "recurring_months": 3}) == ["recurring_months"]


def test_a_commission_program_shows_its_percent_bounds_and_months(world: World) -> None:
    program_id = world.program(
        rewards={"advocate": {**TEN_PERCENT, "min": "1.00", "max": "50.00"}},
        recurring_months=6,
    )

    shown = ProgramOut.of(world.programs.get(program_id)).model_dump(mode="json")

    assert shown["rewards"]["advocate"]["percent_of_order"] == "10"
    assert (shown["rewards"]["advocate"]["min"], shown["rewards"]["advocate"]["max"]) == (
        "1.00",
        "50.00",
    )
    assert shown["recurring_months"] == 6


def test_half_a_cent_rounds_to_the_even_cent() -> None:
    ten = Commission(percent_of_order=Decimal(10))

    assert commission_for(Decimal("0.25"), ten, "USD") == Decimal("0.02")
    assert commission_for(Decimal("0.35"), ten, "USD") == Decimal("0.04")


def test_a_zero_decimal_currency_rounds_to_whole_units() -> None:
    assert commission_for(Decimal(125), Commission(percent_of_order=Decimal(10)), "JPY") == 12


@given(
    order=st.decimals(min_value=0, max_value=10**6, places=2),
    percent=st.decimals(min_value=Decimal("0.01"), max_value=100, places=2),
    floor=st.decimals(min_value=0, max_value=100, places=2),
    extra=st.decimals(min_value=0, max_value=100, places=2),
)
def test_a_commission_is_a_cent_amount_within_its_bounds(
    order: Decimal, percent: Decimal, floor: Decimal, extra: Decimal
) -> None:
    commission = Commission(percent_of_order=percent, min=floor, max=floor + extra)

    paid = commission_for(order, commission, "USD")

    assert floor <= paid <= floor + extra
    assert paid == paid.quantize(Decimal("0.01"))
    unclamped = order * percent / 100
    if floor < unclamped < floor + extra:
        assert abs(paid - unclamped) <= Decimal("0.005")


@given(
    entry=st.decimals(min_value=Decimal("0.01"), max_value=10**5, places=2),
    order=st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=2),
    parts=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=6),
)
def test_partial_refunds_claw_back_their_share_never_more_than_the_entry(
    entry: Decimal, order: Decimal, parts: list[int]
) -> None:
    # Given refunds that add up, one after another, towards the whole order
    total = sum(parts)
    refunded = Decimal(0)
    taken: list[Decimal] = []
    for part in parts:
        refunded = min(order, refunded + (order * part / total).quantize(Decimal("0.01")))
        taken.append(clawback_for(entry, order, refunded, "USD"))

    # Then each clawback is Decimal cents, grows with the refunds, never passes the entry,
    # and is at most the refunded share of the entry
    assert all(isinstance(t, Decimal) and t == t.quantize(Decimal("0.01")) for t in taken)
    assert taken == sorted(taken)
    assert all(Decimal(0) <= t <= entry for t in taken)
    if refunded < order:
        assert taken[-1] <= entry * refunded / order
    else:
        assert taken[-1] == entry


def test_a_commission_entry_names_its_referral_even_when_the_order_id_has_dashes() -> None:
    assert referral_of("ref1abc-advocate-order-ord-7-x") == "ref1abc"
    assert referral_of("ref1abc-advocate") == "ref1abc"


def test_the_qualifying_order_pays_its_commission_on_release(world: World) -> None:
    # Given a 10% commission program and a referral qualified by a 45.00 order
    program_id = world.program(rewards={"advocate": TEN_PERCENT})
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code, amount="45.00")

    # When it is released
    world.release.run()

    # Then the advocate's entry is 4.50 and the budget spent that much
    entry = world.reward_repo.get(referral_id, f"{referral_id}-advocate")
    assert entry is not None
    assert (entry.amount, entry.status) == (Decimal("4.50"), RewardStatus.QUEUED)
    program = world.programs.get(program_id)
    assert program.budget_used == Decimal("4.50")


def test_a_commission_is_clamped_to_its_max_on_release(world: World) -> None:
    program_id = world.program(rewards={"advocate": {**TEN_PERCENT, "max": "2.00"}})
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code, amount="45.00")

    world.release.run()

    entry = world.reward_repo.get(referral_id, f"{referral_id}-advocate")
    assert entry is not None and entry.amount == Decimal("2.00")
