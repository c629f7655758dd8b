"""Idempotency-Key on PATCH and DELETE, as on POST: a retried budget top-up or removal is
applied once; the same key with another body, or while the first is running, is 409."""

from __future__ import annotations

import threading
from typing import Any

from tests.integration.conftest import Invoke
from tests.support import program_body, unique

PROGRAM = "/v1/programs/{program_id}"
BLOCK = "/v1/blocklist/{entry_id}"


def _program(invoke: Invoke) -> str:
    status, _, body = invoke(
        "programs",
        "POST",
        "/v1/programs",
        body=program_body(budget={"amount": "1000.00", "currency": "USD"}),
        roles=["admin"],
    )
    assert status == 201, body
    return str(body["program_id"])


def _patch(invoke: Invoke, program_id: str, body: dict[str, Any], key: str) -> tuple[int, Any]:
    status, _, reply = invoke(
        "programs",
        "PATCH",
        PROGRAM,
        PROGRAM.replace("{program_id}", program_id),
        body=body,
        roles=["admin"],
        headers={"Idempotency-Key": key},
    )
    return status, reply


def _budget(invoke: Invoke, program_id: str) -> str:
    status, _, program = invoke(
        "programs", "GET", PROGRAM, PROGRAM.replace("{program_id}", program_id), roles=["admin"]
    )
    assert status == 200
    return str(program["budget"]["amount"])


def _top_up(amount: str) -> dict[str, Any]:
    return {"budget_top_up": {"amount": amount, "currency": "USD"}}


def test_a_retried_budget_top_up_with_one_key_is_applied_once(invoke: Invoke) -> None:
    # Given a program with a budget of 1000.00
    program_id = _program(invoke)
    key = unique("top-up")

    # When the same top-up is sent twice with one Idempotency-Key
    first = _patch(invoke, program_id, _top_up("100.00"), key)
    again = _patch(invoke, program_id, _top_up("100.00"), key)

    # Then the retry returns the first response and the budget grew once
    assert first[0] == again[0] == 200
    assert again[1] == first[1]
    assert _budget(invoke, program_id) == "1100.00"


def test_a_top_up_key_reused_with_another_body_is_409(invoke: Invoke) -> None:
    program_id = _program(invoke)
    key = unique("top-up")
    _patch(invoke, program_id, _top_up("100.00"), key)

    status, problem = _patch(invoke, program_id, _top_up("200.00"), key)

    assert status == 409 and "different body" in problem["detail"]
    assert _budget(invoke, program_id) == "1100.00"


def test_one_key_on_two_programs_is_two_changes(invoke: Invoke) -> None:
    first, second = _program(invoke), _program(invoke)
    key = unique("top-up")

    assert _patch(invoke, first, _top_up("100.00"), key)[0] == 200
    assert _patch(invoke, second, _top_up("100.00"), key)[0] == 200

    assert _budget(invoke, first) == _budget(invoke, second) == "1100.00"


def test_concurrent_copies_of_one_top_up_apply_it_once(invoke: Invoke) -> None:
    program_id = _program(invoke)
    key = unique("top-up")
    results: list[int] = []

    def patch() -> None:
        results.append(_patch(invoke, program_id, _top_up("100.00"), key)[0])

    threads = [threading.Thread(target=patch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert set(results) <= {200, 409} and 200 in results
    assert _budget(invoke, program_id) == "1100.00"


def test_a_retried_removal_with_one_key_returns_the_first_response(invoke: Invoke) -> None:
    # Given a blocklist entry
    status, _, entry = invoke(
        "reviews",
        "POST",
        "/v1/blocklist",
        body={"kind": "device", "value": unique("dev")},
        roles=["finance"],
    )
    assert status == 201, entry
    path = BLOCK.replace("{entry_id}", entry["entry_id"])
    key = {"Idempotency-Key": unique("unblock")}

    # When its removal is sent twice with one key
    first = invoke("reviews", "DELETE", BLOCK, path, roles=["finance"], headers=key)
    again = invoke("reviews", "DELETE", BLOCK, path, roles=["finance"], headers=key)

    # Then the retry answers as the first did, not 404
    assert first[0] == again[0] == 200
    assert again[2] == first[2]
