"""What a program body may say: every reward pays a positive amount; a donation names its
charity; monthly caps are positive amounts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.schemas.programs import ProgramCreate
from tests.support import program_body


@pytest.mark.parametrize("amount", ["0", "0.00"])
def test_a_reward_of_nothing_is_refused_naming_the_field(amount: str) -> None:
    body = program_body()
    body["rewards"]["referee"] = {"kind": "cash", "amount": amount, "currency": "USD"}

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e["loc"] for e in refused.value.errors()] == [("rewards", "referee", "amount")]


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

    assert [e["loc"] for e in refused.value.errors()] == [("rewards", "advocate", "charity")]


def test_a_tier_donation_names_its_charity() -> None:
    bonus = {"kind": "charity_donation", "amount": "25.00", "currency": "USD"}
    body = program_body(tiers=[{"min_successful_referrals": 3, "advocate_bonus": bonus}])

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e["loc"] for e in refused.value.errors()] == [("tiers", 0, "advocate_bonus", "charity")]


def test_a_gift_card_naming_a_charity_is_refused() -> None:
    body = program_body()
    body["rewards"]["advocate"]["charity"] = "wwf"

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e["loc"] for e in refused.value.errors()] == [("rewards", "advocate", "charity")]


def test_a_donation_of_nothing_is_refused_naming_the_amount() -> None:
    body = program_body()
    body["rewards"]["advocate"] = {**DONATION, "amount": "0.00"}

    with pytest.raises(ValidationError) as refused:
        ProgramCreate.model_validate(body)

    assert [e["loc"] for e in refused.value.errors()] == [("rewards", "advocate", "amount")]
