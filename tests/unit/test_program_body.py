"""What a program body may say: every reward pays a positive amount."""

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
