"""The heat meter bills each table call as DynamoDB would, per second and partition key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.backtest.heat import MeteringTable, heat_figures, item_size
from shared.cli import main
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Put, Update

GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "golden" / "events.jsonl"


def _meter() -> MeteringTable:
    return MeteringTable(MemoryTable(), lambda: ("request", "0"))


def _billed(meter: MeteringTable) -> dict[tuple[str, str, str], float]:
    return dict(meter.usage[("request", "0")])


def _item(pk: str, size: int, **extra: str) -> dict[str, str]:
    item = {"pk": pk, "sk": "S", **extra}
    item["pad"] = "x" * (size - item_size(item) - 3)
    return item


def test_an_items_size_is_its_attribute_names_and_values() -> None:
    assert item_size({"pk": "AB", "n": 12345}) == 2 + 2 + 1 + 4


def test_a_single_put_is_one_wcu_a_kilobyte_on_the_table_and_on_each_index_it_enters() -> None:
    meter = _meter()

    meter.write([Put(_item("A", 1500, gsi1pk="L", gsi1sk="1"))])

    assert _billed(meter) == {("WCU", "base", "A"): 2, ("WCU", "gsi1", "L"): 2}


def test_a_transaction_bills_the_table_twice_and_the_index_once() -> None:
    meter = _meter()

    meter.write([Put(_item("A", 900, gsi2pk="S", gsi2sk="1")), Put(_item("B", 900))])

    assert _billed(meter) == {
        ("WCU", "base", "A"): 2,
        ("WCU", "base", "B"): 2,
        ("WCU", "gsi2", "S"): 1,
    }


def test_an_update_that_moves_an_item_between_index_keys_bills_both_keys() -> None:
    meter = _meter()
    meter.inner.write([Put(_item("A", 500, gsi2pk="OLD", gsi2sk="1"))])

    meter.write([Update("A", "S", set={"gsi2pk": "NEW"})])

    billed = _billed(meter)
    assert billed[("WCU", "gsi2", "OLD")] == 1 and billed[("WCU", "gsi2", "NEW")] == 1


def test_reads_are_four_kilobytes_a_unit_and_half_that_on_an_index() -> None:
    meter = _meter()
    meter.inner.write([Put(_item("A", 5000, gsi1pk="L", gsi1sk="1"))])

    meter.get("A", "S")
    meter.query("L", index="gsi1")

    assert _billed(meter) == {("RCU", "base", "A"): 2, ("RCU", "gsi1", "L"): 1}


def test_heat_figures_name_the_hottest_key_of_the_table_and_each_index(tmp_path: Path) -> None:
    # Given the first hundred operations of the golden history
    head = tmp_path / "events.jsonl"
    with GOLDEN.open(encoding="utf-8") as handle:
        head.write_text("".join(line for _, line in zip(range(100), handle, strict=False)))

    # When its heat is measured
    figures = heat_figures(head)

    # Then there is a write and a read figure for the table and each index, against its goal
    assert [(f["unit"], f["goal"]) for f in figures] == [("WCU/s", 1000), ("RCU/s", 3000)] * 3
    assert all(isinstance(f["met"], bool) and f["value"] >= 0 for f in figures)
    assert not any("(IDEMPOTENCY)" in f["name"] for f in figures)


def test_the_backtest_command_prints_the_hottest_keys_with_heat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the first hundred operations of the golden history
    head = tmp_path / "events.jsonl"
    with GOLDEN.open(encoding="utf-8") as handle:
        head.write_text("".join(line for _, line in zip(range(100), handle, strict=False)))

    # When `rewards backtest --heat` runs on it
    code = main(["backtest", str(head), "--heat"])

    # Then it names the limits and lists the table's and each index's busiest keys
    out = capsys.readouterr().out
    assert code == 0
    assert "limits 1000 WCU/s, 3000 RCU/s a key" in out
    assert [line for line in out.splitlines() if line.endswith(":")] == ["base:", "gsi1:", "gsi2:"]


def test_an_eventually_consistent_read_costs_half_a_strong_one() -> None:
    from shared.backtest.heat import _read_units

    assert _read_units(100, strongly=False) == 0.5 * _read_units(100, strongly=True)
