"""Incentive variants over the functions' HTTP contract on moto: a program takes them on
create and update, refuses bad ones with a 422 naming the field, and an advocate shows the
variant it was assigned."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Invoke
from tests.support import advocate_body, program_body

PROGRAMS = "/v1/programs"
PROGRAM = "/v1/programs/{program_id}"
ADVOCATES = "/v1/programs/{program_id}/advocates"
ADVOCATE = "/v1/advocates/{advocate_id}"


def variant(name: Any, amount: str = "10.00", weight: Any = 1, currency: str = "USD") -> Any:
    return {
        "name": name,
        "weight": weight,
        "rewards": {"advocate": {"kind": "gift_card", "amount": amount, "currency": currency}},
    }


def create(invoke: Invoke, **overrides: Any) -> tuple[int, Any]:
    body = program_body(**overrides)
    status, _, out = invoke("programs", "POST", PROGRAMS, body=body, roles=["admin"])
    return status, out


def update(invoke: Invoke, program_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    path = PROGRAM.replace("{program_id}", program_id)
    status, _, out = invoke("programs", "PATCH", PROGRAM, path, body=body, roles=["admin"])
    return status, out


def fields_of(problem: Any) -> list[str]:
    return [e["field"] for e in problem["errors"]]


def test_a_program_takes_variants_on_create_and_shows_them(invoke: Invoke) -> None:
    status, program = create(
        invoke, variants=[variant("10 off", "10.00", 3), variant("15 off", "15.00", 1)]
    )

    assert status == 201, program
    assert [(v["name"], v["weight"]) for v in program["variants"]] == [
        ("10 off", 3),
        ("15 off", 1),
    ]
    assert program["variants"][1]["rewards"]["advocate"]["amount"] == "15.00"


@pytest.mark.parametrize(
    ("variants", "field"),
    [
        ([variant("a"), variant("a")], "variants"),
        ([variant("")], "variants.0.name"),
        ([variant("a"), variant("default")], "variants.1.name"),
        ([variant("a", weight=0)], "variants.0.weight"),
        ([variant("a", weight=-2)], "variants.0.weight"),
        ([variant("a", weight=1.5)], "variants.0.weight"),
        ([variant("a", weight="2")], "variants.0.weight"),
        ([variant("a", currency="EUR")], "variants.0.rewards.advocate.currency"),
        ([{"name": "a", "weight": 1, "rewards": {}}], "variants.0.rewards"),
        ([{"name": "a", "weight": 1}], "variants.0.rewards"),
        ([], "variants"),
    ],
)
def test_bad_variants_are_422_naming_the_field(
    invoke: Invoke, variants: list[Any], field: str
) -> None:
    status, problem = create(invoke, variants=variants)

    assert status == 422, problem
    assert field in fields_of(problem)


def test_an_update_changes_weights_and_retires_a_variant_left_out(invoke: Invoke) -> None:
    # Given a program with two variants
    status, program = create(invoke, variants=[variant("a"), variant("b", "15.00")])
    assert status == 201, program

    # When an update lists "a" with a new weight and a new "c"
    status, updated = update(
        invoke, program["program_id"], {"variants": [variant("a", weight=5), variant("c")]}
    )

    # Then the active variants are those two, "b" is no longer offered
    assert status == 200, updated
    assert [(v["name"], v["weight"]) for v in updated["variants"]] == [("a", 5), ("c", 1)]


def test_an_update_cannot_change_a_variants_rewards(invoke: Invoke) -> None:
    status, program = create(invoke, variants=[variant("a")])
    assert status == 201, program

    status, problem = update(invoke, program["program_id"], {"variants": [variant("a", "12.00")]})

    assert status == 422, problem
    assert fields_of(problem) == ["variants.0.rewards"]
    assert problem["errors"][0]["code"] == "variant_terms_fixed"


def test_an_update_with_a_variant_in_another_currency_is_422(invoke: Invoke) -> None:
    status, program = create(invoke)
    assert status == 201, program

    status, problem = update(
        invoke, program["program_id"], {"variants": [variant("a", currency="EUR")]}
    )

    assert status == 422, problem
    assert fields_of(problem) == ["variants.0.rewards.advocate.currency"]


def test_an_advocate_shows_the_variant_it_was_assigned(invoke: Invoke) -> None:
    # Given a program whose only variant is "solo"
    status, program = create(invoke, variants=[variant("solo")])
    assert status == 201, program
    path = ADVOCATES.replace("{program_id}", program["program_id"])

    # When an advocate enrols and is read back
    status, _, enrolled = invoke(
        "advocates", "POST", ADVOCATES, path, body=advocate_body(), roles=["client"]
    )
    assert status == 201, enrolled
    status, _, advocate = invoke(
        "advocates",
        "GET",
        ADVOCATE,
        ADVOCATE.replace("{advocate_id}", enrolled["advocate_id"]),
        roles=["client"],
    )

    # Then it shows "solo"
    assert status == 200, advocate
    assert advocate["variant"] == "solo"
