"""List cursors are opaque and bound to the list and filters they were issued for: a forged
cursor, or one reused with other filters, is 422 naming `cursor` (never a 500 or a page of
some other list)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.payouts.sandbox_faults import FaultPlan
from tests.integration.conftest import Invoke
from tests.support import program_body
from tests.unit.rewards.conftest import World

PROBLEM = "application/problem+json"


def _programs(invoke: Invoke, count: int) -> None:
    for _ in range(count):
        status, _, body = invoke(
            "programs", "POST", "/v1/programs", body=program_body(), roles=["admin"]
        )
        assert status == 201, body


def _released_rewards() -> None:
    """A referral whose two rewards are queued, in the functions' own table."""
    from shared import wiring

    world = World(
        table=wiring.table(),  # type: ignore[arg-type]
        clock=FixedClock(datetime.now(UTC) - timedelta(minutes=1)),
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers={},
    )
    program_id = world.program()
    _, code = world.advocate(program_id)
    world.release.release(world.approved(program_id, code))


def _list(invoke: Invoke, path: str, function_dir: str, **query: str) -> tuple[int, Any]:
    status, headers, body = invoke(function_dir, "GET", path, roles=["finance"], query=query)
    if status >= 400:
        assert headers["Content-Type"] == PROBLEM
    return status, body


def _assert_cursor_refused(status: int, body: Any) -> None:
    assert status == 422, body
    assert [e["field"] for e in body["errors"]] == ["cursor"]


def test_a_cursor_pages_on_through_the_same_list(invoke: Invoke) -> None:
    # Given three programs
    _programs(invoke, 3)
    # When the list is read one item at a time
    status, first = _list(invoke, "/v1/programs", "programs", limit="1")
    assert status == 200 and first["next_cursor"]
    status, second = _list(
        invoke, "/v1/programs", "programs", limit="1", cursor=first["next_cursor"]
    )
    # Then the next page follows on
    assert status == 200
    assert second["items"][0]["program_id"] != first["items"][0]["program_id"]


def test_a_cursor_may_change_the_page_size(invoke: Invoke) -> None:
    _programs(invoke, 3)
    _, first = _list(invoke, "/v1/programs", "programs", limit="1")

    status, _ = _list(invoke, "/v1/programs", "programs", limit="2", cursor=first["next_cursor"])

    assert status == 200


def test_a_forged_cursor_with_the_right_key_names_is_422(invoke: Invoke) -> None:
    # Given a cursor built by hand in the shape the table uses
    key = {"pk": "PROGRAM#x", "sk": "PROGRAM", "gsi1pk": "NOPE", "gsi1sk": "zzz"}
    forged = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    status, body = _list(invoke, "/v1/programs", "programs", cursor=forged)

    _assert_cursor_refused(status, body)


def test_a_cursor_with_a_flipped_character_is_422(invoke: Invoke) -> None:
    _programs(invoke, 2)
    _, first = _list(invoke, "/v1/programs", "programs", limit="1")
    cursor = first["next_cursor"]
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]

    status, body = _list(invoke, "/v1/programs", "programs", cursor=tampered)

    _assert_cursor_refused(status, body)


def test_a_ledger_cursor_reused_with_another_filter_is_422(invoke: Invoke) -> None:
    # Given a cursor issued for the ledger filtered by status
    _released_rewards()
    status, page = _list(invoke, "/v1/rewards", "rewards", status="queued", limit="1")
    assert status == 200 and page["next_cursor"]

    # When it is sent with another filter, on the same index or another
    for other in ({"status": "sent"}, {"referral_id": "ref_other"}, {}):
        status, body = _list(invoke, "/v1/rewards", "rewards", **other, cursor=page["next_cursor"])

        # Then it is refused, naming the cursor
        _assert_cursor_refused(status, body)


def test_a_cursor_of_one_list_is_refused_by_another(invoke: Invoke) -> None:
    _programs(invoke, 2)
    _, programs = _list(invoke, "/v1/programs", "programs", limit="1")

    status, body = _list(invoke, "/v1/blocklist", "reviews", cursor=programs["next_cursor"])

    _assert_cursor_refused(status, body)
