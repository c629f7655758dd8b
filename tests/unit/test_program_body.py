"""What a program body may say: every reward pays a positive amount; a donation names its
charity; monthly caps are positive amounts; points rewards credit a positive whole number of
points, priced by the program's point_value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.clock import FixedClock
from shared.domain.programs import Program
from shared.domain.reviews import approvals_needed, rewards_total
from shared.errors import InvalidRequest
from shared.http.problem import field_errors
from shared.schemas.programs import ProgramCreate, ProgramOut
from shared.storage.memory_table import MemoryTable
from tests.finance_support import services_on
from tests.support import T0, program_body

POINT_VALUE = {"amount": "0.01", "currency": "USD"}


def _refused_fields(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)
    return [e.field for e in field_errors(refused.value)]


@pytest.mark.parametrize("amount", ["0", "0.00"])
def test_a_reward_of_nothing_is_refused_naming_the_field(amount: str) -> None:
    body = program_body()
    body["rewards"]["referee"] = {"kind": "cash", "amount": amount, "currency": "USD"}

    assert _refused_fields(body) == ["rewards.referee.amount"]


def test_a_tier_bonus_of_nothing_is_refused() -> None:
    body = program_body(
        tiers=[
            {
                "min_successful_referrals": 3,
                "advocate_bonus": {"kind": "gift_card", "amount": "0", "currency": "USD"},
            }
        ]
    )

    with pytest.raises(ValidationError):
        ProgramCreate.model_validate(body)


def test_a_positive_reward_is_accepted() -> None:
    assert ProgramCreate.model_validate(program_body()).rewards.referee is not None


DONATION = {"kind": "charity_donation", "amount": "5.00", "currency": "USD", "charity": "wwf"}


@pytest.mark.parametrize("side", ["advocate", "referee"])
def test_a_donation_reward_is_accepted_with_its_charity(side: str) -> None:
    body = program_body()
    body["rewards"][side] = DONATION

    command = ProgramCreate.model_validate(body).command()

    terms = command.advocate_reward if side == "advocate" else command.referee_reward
    assert terms is not None and (terms.kind, terms.charity) == ("charity_donation", "wwf")


@pytest.mark.parametrize("charity", [None, "", "  ", 7])
def test_a_donation_without_a_charity_id_is_refused_naming_the_field(charity: object) -> None:
    body = program_body()
    body["rewards"]["advocate"] = {**DONATION, "charity": charity}
    if charity is None:
        del body["rewards"]["advocate"]["charity"]

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e.field for e in field_errors(refused.value)] == ["rewards.advocate.charity"]


def test_a_tier_donation_names_its_charity() -> None:
    bonus = {"kind": "charity_donation", "amount": "25.00", "currency": "USD"}
    body = program_body(tiers=[{"min_successful_referrals": 3, "advocate_bonus": bonus}])

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e.field for e in field_errors(refused.value)] == ["tiers.0.advocate_bonus.charity"]


def test_a_gift_card_naming_a_charity_is_refused() -> None:
    body = program_body()
    body["rewards"]["advocate"]["charity"] = "wwf"

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e.field for e in field_errors(refused.value)] == ["rewards.advocate.charity"]


def test_a_donation_of_nothing_is_refused_naming_the_amount() -> None:
    body = program_body()
    body["rewards"]["advocate"] = {**DONATION, "amount": "0.00"}

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e.field for e in field_errors(refused.value)] == ["rewards.advocate.amount"]


@pytest.mark.parametrize("points", ["0", "-5", "1.5", "ten", "", 0, -1, 2.5, True])
def test_a_points_reward_of_anything_but_a_positive_whole_number_is_refused_naming_it(
    points: object,
) -> None:
    body = program_body(point_value=POINT_VALUE)
    body["rewards"]["advocate"] = {"kind": "points", "points": points}

    assert _refused_fields(body) == ["rewards.advocate.points"]


def test_a_points_tier_bonus_is_checked_like_a_reward() -> None:
    body = program_body(
        point_value=POINT_VALUE,
        tiers=[
            {"min_successful_referrals": 3, "advocate_bonus": {"kind": "points", "points": "0"}}
        ],
    )

    assert _refused_fields(body) == ["tiers.0.advocate_bonus.points"]


@pytest.mark.parametrize("side", ["advocate", "referee"])
def test_a_points_reward_without_a_point_value_is_refused_naming_point_value(side: str) -> None:
    body = program_body()
    body["rewards"][side] = {"kind": "points", "points": "100"}

    assert _refused_fields(body) == ["point_value"]


def test_a_points_tier_bonus_without_a_point_value_is_refused() -> None:
    body = program_body(
        tiers=[{"min_successful_referrals": 3, "advocate_bonus": {"kind": "points", "points": "9"}}]
    )

    assert _refused_fields(body) == ["point_value"]


def test_a_point_value_of_nothing_is_refused() -> None:
    body = program_body(point_value={"amount": "0.00", "currency": "USD"})
    body["rewards"]["advocate"] = {"kind": "points", "points": "100"}

    assert _refused_fields(body) == ["point_value"]


def test_a_points_reward_is_worth_its_points_at_the_point_value() -> None:
    body = program_body(point_value={"amount": "0.02", "currency": "USD"}, tiers=[])
    body["rewards"]["advocate"] = {"kind": "points", "points": "250"}

    terms = ProgramCreate.model_validate(body).command().advocate_reward

    assert terms is not None
    assert (terms.kind, terms.points, terms.amount, terms.currency) == (
        "points",
        250,
        Decimal("5.00"),
        "USD",
    )


def test_points_may_be_a_json_integer_too() -> None:
    body = program_body(point_value=POINT_VALUE)
    body["rewards"]["advocate"] = {"kind": "points", "points": 40}

    terms = ProgramCreate.model_validate(body).command().advocate_reward

    assert terms is not None and terms.points == 40


def test_a_points_reward_takes_no_amount() -> None:
    body = program_body(point_value=POINT_VALUE)
    body["rewards"]["advocate"] = {"kind": "points", "points": "40", "amount": "1.00"}

    assert _refused_fields(body) == ["rewards.advocate.amount"]


def test_dual_approval_counts_a_points_reward_at_its_money_value() -> None:
    # Given 6000 points at 0.02 (120.00) for the advocate and 10.00 cash for the referee
    body = program_body(point_value={"amount": "0.02", "currency": "USD"}, tiers=[])
    body["rewards"]["advocate"] = {"kind": "points", "points": "6000"}
    command = ProgramCreate.model_validate(body).command()
    program = Program(
        program_id="prg_1",
        name=command.name,
        qualifying_event=command.qualifying_event,
        advocate_reward=command.advocate_reward,
        referee_reward=command.referee_reward,
        tiers=[],
        attribution_window_days=30,
        holding_period_days=0,
        currency="USD",
        budget_total=Decimal("5000.00"),
        dual_approval_over=Decimal("100.00"),
        point_value=Decimal("0.02"),
        review_timeout_days=30,
        review_timeout_action="reject",
        auto_reject=True,
        started_at=T0,
        created_at=T0,
        updated_at=T0,
    )

    # Then approving it is worth 130.00, above the threshold: two approvers
    total = rewards_total(program, advocate_rewarded_referrals=0)
    assert total == Decimal("130.00")
    assert approvals_needed(program, total) == 2


def test_a_point_value_in_another_currency_than_the_budget_is_refused_naming_it() -> None:
    body = program_body(point_value={"amount": "0.01", "currency": "EUR"})
    body["rewards"]["advocate"] = {"kind": "points", "points": "100"}
    programs = services_on(MemoryTable(), FixedClock(T0)).programs

    with pytest.raises(InvalidRequest) as refused:
        programs.create(ProgramCreate.model_validate(body).command())

    assert [e.field for e in refused.value.errors] == ["point_value.currency"]


def test_a_points_program_shows_its_rewards_points_and_point_value() -> None:
    body = program_body(point_value=POINT_VALUE)
    body["rewards"]["advocate"] = {"kind": "points", "points": "150"}
    programs = services_on(MemoryTable(), FixedClock(T0)).programs

    shown = ProgramOut.of(programs.create(ProgramCreate.model_validate(body).command()))

    advocate = shown.rewards.advocate
    assert advocate is not None
    assert (advocate.kind, advocate.points, advocate.amount) == ("points", 150, "1.50")
    assert shown.point_value is not None and shown.point_value.amount == "0.01"
    referee = shown.rewards.referee
    assert referee is not None and referee.points is None
