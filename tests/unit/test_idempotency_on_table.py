"""Idempotency records over the Table port, as the local stack's shared engine keeps them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared import wiring
from shared.http.idempotency import KeyReused, record_key, run_once
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Update


@pytest.fixture
def table() -> Iterator[MemoryTable]:
    engine = MemoryTable()
    wiring.install(table=engine)
    yield engine
    wiring.reset()


class Work:
    """Counts its runs and answers with the run number."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> dict[str, Any]:
        self.runs += 1
        return {"run": self.runs}


def scope() -> str:
    return f"client-1 POST /v1/referrals {uuid.uuid4().hex}"


def stored(table: MemoryTable) -> list[dict[str, Any]]:
    return [i for i in table.all_items() if str(i["pk"]).startswith("IDEMPOTENCY#")]


def test_first_use_runs_the_work_and_stores_a_completed_sharded_record(table: MemoryTable) -> None:
    work = Work()

    assert run_once(scope(), {"a": 1}, work) == {"run": 1}

    [record] = stored(table)
    assert (record["pk"], record["sk"]) == record_key(str(record["sk"]))
    assert record["status"] == "COMPLETED"
    assert int(record["expires_at"]) > time.time()


def test_a_replay_with_the_same_body_returns_the_first_response_without_running(
    table: MemoryTable,
) -> None:
    work, key = Work(), scope()
    first = run_once(key, {"a": 1}, work)

    again = run_once(key, {"a": 1}, work)

    assert again == first
    assert work.runs == 1


def test_the_same_key_with_another_body_is_refused(table: MemoryTable) -> None:
    key = scope()
    run_once(key, {"a": 1}, Work())

    with pytest.raises(KeyReused, match="different body"):
        run_once(key, {"a": 2}, Work())


def test_a_copy_arriving_while_the_first_is_in_flight_is_refused(table: MemoryTable) -> None:
    key, refused = scope(), []

    def first() -> dict[str, Any]:
        try:
            run_once(key, {"a": 1}, Work())
        except KeyReused as exc:
            refused.append(str(exc))
        return {"done": True}

    run_once(key, {"a": 1}, first)

    assert refused == ["a request with this Idempotency-Key is still being processed"]


def test_an_expired_record_lets_the_key_run_again(table: MemoryTable) -> None:
    work, key = Work(), scope()
    run_once(key, {"a": 1}, work)
    [record] = stored(table)
    table.write([Update(record["pk"], record["sk"], set={"expires_at": int(time.time()) - 10})])

    again = run_once(key, {"a": 1}, work)

    assert again == {"run": 2}
    assert work.runs == 2
