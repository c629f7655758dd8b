"""The `programs` claim: which programs a token reaches, checked before any route runs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.errors import InvalidRequest, NotFound
from shared.http.auth import principal_of
from shared.http.scope import (
    TableProgramLocator,
    check_scope,
    in_body,
    in_path,
    in_query,
    of_advocate,
    of_referral,
)
from shared.payouts.sandbox_faults import FaultPlan
from shared.storage.memory_table import MemoryTable
from tests.finance_support import Intake
from tests.support import T0
from tests.unit.rewards.conftest import World


def _event(**claims: Any) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "shop", **claims}}}}}


class FakeLocator:
    def __init__(self, programs: dict[tuple[str, str], str]) -> None:
        self._programs = programs

    def program_of(self, kind: str, record_id: str) -> str | None:
        return self._programs.get((kind, record_id))


class Body(BaseModel):
    program_id: str | None = None


NOBODY = FakeLocator({})


@pytest.mark.parametrize(
    ("claim", "programs"),
    [
        (["prg_a", "prg_b"], {"prg_a", "prg_b"}),
        ("[prg_a prg_b]", {"prg_a", "prg_b"}),
        ('["prg_a"]', {"prg_a"}),
        ("prg_a", {"prg_a"}),
        ("[]", set()),
        ([], set()),
    ],
)
def test_the_programs_claim_is_read_in_every_shape_the_authorizer_passes(
    claim: Any, programs: set[str]
) -> None:
    principal = principal_of(_event(roles="[client]", programs=claim))

    assert principal.programs == frozenset(programs)


def test_a_token_without_the_programs_claim_reaches_every_program() -> None:
    assert principal_of(_event(roles="[client]")).programs is None


def test_a_path_program_inside_the_scope_passes() -> None:
    check_scope(in_path(), frozenset({"prg_a"}), {"program_id": "prg_a"}, Body(), {}, NOBODY)


def test_a_path_program_outside_the_scope_is_not_found() -> None:
    with pytest.raises(NotFound, match="no program prg_b"):
        check_scope(in_path(), frozenset({"prg_a"}), {"program_id": "prg_b"}, Body(), {}, NOBODY)


def test_a_body_program_outside_the_scope_is_not_found() -> None:
    with pytest.raises(NotFound):
        check_scope(in_body(), frozenset({"prg_a"}), {}, Body(program_id="prg_b"), {}, NOBODY)


def test_a_scoped_token_must_name_the_program_a_list_is_filtered_by() -> None:
    with pytest.raises(InvalidRequest) as raised:
        check_scope(in_query(), frozenset({"prg_a"}), {}, Body(), {}, NOBODY)

    assert raised.value.errors[0].field == "program_id"


def test_a_referral_is_found_in_the_scope_through_its_program() -> None:
    locator = FakeLocator({("referral", "ref_1"): "prg_a"})

    check_scope(of_referral(), frozenset({"prg_a"}), {"referral_id": "ref_1"}, Body(), {}, locator)


def test_another_programs_referral_is_not_found_like_a_missing_one() -> None:
    locator = FakeLocator({("referral", "ref_1"): "prg_b"})
    scope = frozenset({"prg_a"})

    with pytest.raises(NotFound) as foreign:
        check_scope(of_referral(), scope, {"referral_id": "ref_1"}, Body(), {}, locator)
    with pytest.raises(NotFound) as missing:
        check_scope(of_referral(), scope, {"referral_id": "ref_9"}, Body(), {}, locator)

    assert foreign.value.detail == "no referral ref_1"
    assert missing.value.detail == "no referral ref_9"


def test_a_route_that_does_not_say_where_its_program_is_refuses_a_scoped_token() -> None:
    with pytest.raises(NotFound):
        check_scope(None, frozenset({"prg_a"}), {}, Body(), {}, NOBODY)


def test_the_table_locator_finds_the_program_of_a_referral_and_of_an_advocate() -> None:
    table = MemoryTable()
    intake = Intake(table, FixedClock(T0))
    program_id = intake.program()
    advocate_id, code = intake.advocate(program_id)
    referral_id = intake.referral(program_id, code).referral_id
    locator = TableProgramLocator(table)

    assert locator.program_of("referral", referral_id) == program_id
    assert locator.program_of("advocate", advocate_id) == program_id
    assert locator.program_of("referral", "ref_missing") is None


def test_another_programs_advocate_is_not_found() -> None:
    locator = FakeLocator({("advocate", "adv_1"): "prg_b"})

    with pytest.raises(NotFound, match="no advocate adv_1"):
        check_scope(
            of_advocate(), frozenset({"prg_a"}), {"advocate_id": "adv_1"}, Body(), {}, locator
        )


def test_the_table_locator_finds_the_program_of_a_reward() -> None:
    world = World(
        table=MemoryTable(),
        clock=FixedClock(T0),
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers={},
    )
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.release(referral_id)
    reward_id = world.rewards(referral_id)[0].reward_id
    locator = TableProgramLocator(world.table)

    assert locator.program_of("reward", reward_id) == program_id
    assert locator.program_of("reward", f"{referral_id}-nothing") is None
    assert locator.program_of("reward", "no-dash-at-all") is None
