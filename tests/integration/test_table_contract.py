"""The same behaviours asked of DynamoTable on moto and of MemoryTable."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest

from shared.storage.dynamo_table import DynamoTable
from shared.storage.memory_table import MemoryTable
from shared.storage.table import (
    AtLeast,
    AtMost,
    ConditionFailed,
    Equals,
    InvalidCursor,
    KeyRange,
    NotExists,
    Put,
    Table,
    Update,
    query_all,
)


@pytest.fixture(params=["memory", "dynamo"])
def table(request: pytest.FixtureRequest, aws: dict[str, str]) -> Iterator[Table]:
    if request.param == "memory":
        yield MemoryTable()
    else:
        yield DynamoTable(aws["TABLE_NAME"])


def _pk() -> str:
    return f"T#{uuid.uuid4().hex}"


def test_create_once_refuses_the_second_put(table: Table) -> None:
    pk = _pk()
    table.write([Put({"pk": pk, "sk": "A", "n": 1}, NotExists())])
    with pytest.raises(ConditionFailed):
        table.write([Put({"pk": pk, "sk": "A", "n": 2}, NotExists())])
    item = table.get(pk, "A")
    assert item is not None and item["n"] == Decimal(1)


def test_failed_transaction_writes_nothing_and_names_the_operation(table: Table) -> None:
    pk = _pk()
    table.write([Put({"pk": pk, "sk": "TAKEN"})])
    with pytest.raises(ConditionFailed) as err:
        table.write(
            [
                Put({"pk": pk, "sk": "NEW"}, NotExists()),
                Put({"pk": pk, "sk": "TAKEN"}, NotExists()),
            ]
        )
    assert err.value.index == 1
    assert table.get(pk, "NEW") is None


def test_counter_never_goes_below_zero(table: Table) -> None:
    pk = _pk()
    table.write([Put({"pk": pk, "sk": "B", "left": Decimal("25.00")})])
    spend = Update(
        pk, "B", add={"left": Decimal("-10.00")}, condition=AtLeast("left", Decimal("10.00"))
    )
    table.write([spend])
    table.write([spend])
    with pytest.raises(ConditionFailed):
        table.write([spend])
    item = table.get(pk, "B")
    assert item is not None and item["left"] == Decimal("5.00")


def test_parallel_spends_never_overspend(table: Table) -> None:
    pk = _pk()
    table.write([Put({"pk": pk, "sk": "B", "left": Decimal("100.00")})])
    spend = Update(
        pk, "B", add={"left": Decimal("-7.00")}, condition=AtLeast("left", Decimal("7.00"))
    )
    done: list[bool] = []

    def worker() -> None:
        for _ in range(5):
            try:
                table.write([spend])
                done.append(True)
            except ConditionFailed:
                done.append(False)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item = table.get(pk, "B")
    assert item is not None
    assert done.count(True) == 14
    assert item["left"] == Decimal("2.00")


def test_a_counter_that_does_not_exist_yet_counts_as_zero_up_to_its_limit(table: Table) -> None:
    # Given no item yet, and spends of 4.00 allowed while the counter stays within 10.00
    pk = _pk()
    spend = Update(
        pk, "M", add={"spent": Decimal("4.00")}, condition=AtMost("spent", Decimal("6.00"))
    )

    # When three spends are tried (in transactions of their own and with another write)
    table.write([spend])
    table.write([spend, Put({"pk": pk, "sk": "OTHER"})])
    with pytest.raises(ConditionFailed) as refused:
        table.write([Put({"pk": pk, "sk": "THIRD"}), spend])

    # Then the first two made it and the third changed nothing
    assert refused.value.index == 1
    item = table.get(pk, "M")
    assert item is not None and item["spent"] == Decimal("8.00")
    assert table.get(pk, "THIRD") is None


def test_optimistic_version_check(table: Table) -> None:
    pk = _pk()
    table.write([Put({"pk": pk, "sk": "R", "version": 1})])
    table.write([Put({"pk": pk, "sk": "R", "version": 2}, Equals("version", 1))])
    with pytest.raises(ConditionFailed):
        table.write([Put({"pk": pk, "sk": "R", "version": 2}, Equals("version", 1))])


def test_query_pages_in_order_on_base_table_and_index(table: Table) -> None:
    pk, index_pk = _pk(), _pk()
    for i in range(7):
        table.write(
            [Put({"pk": pk, "sk": f"S#{i:02d}", "gsi1pk": index_pk, "gsi1sk": f"{9 - i:02d}"})]
        )
    assert [i["sk"] for i in query_all(table, pk, limit=3)] == [f"S#{i:02d}" for i in range(7)]
    by_index = query_all(table, index_pk, index="gsi1", limit=2, forward=False)
    assert [i["gsi1sk"] for i in by_index] == [f"{9 - i:02d}" for i in range(7)]


def test_key_range_selects_a_window(table: Table) -> None:
    pk = _pk()
    for sk in ["2026-01-01", "2026-01-05", "2026-01-09"]:
        table.write([Put({"pk": pk, "sk": sk})])
    window = table.query(pk, key_range=KeyRange(low="2026-01-02", high="2026-01-09"))
    assert [i["sk"] for i in window.items] == ["2026-01-05", "2026-01-09"]


def test_a_forged_cursor_is_refused(table: Table) -> None:
    with pytest.raises(InvalidCursor):
        table.query(_pk(), cursor="bm90LWEtY3Vyc29y")


def test_an_eventually_consistent_get_reads_what_was_written(table: Table) -> None:
    pk = _pk()
    table.write([Put({"pk": pk, "sk": "A", "n": 1})])
    assert table.get(pk, "A", consistent=False) == {"pk": pk, "sk": "A", "n": 1}
    assert table.get(pk, "missing", consistent=False) is None
