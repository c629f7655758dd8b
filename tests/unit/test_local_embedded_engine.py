"""The local stack's embedded table engine: injection, schema check, saving across restarts."""

from __future__ import annotations

import copy
import stat
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared import wiring
from shared.local.embedded_table import EmbeddedTable, TableSchemaMismatch, check_schema
from shared.local.template import load_template
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Put

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(autouse=True)
def _clean_wiring() -> Any:
    yield
    wiring.reset()


def test_an_installed_table_is_what_every_function_gets_until_reset() -> None:
    # Given a table installed by the host process
    engine = MemoryTable()
    wiring.install(table=engine)
    # When functions ask for the table, twice
    first, second = wiring.table(), wiring.table()
    # Then they both get that one engine (behind the rescore marking every write)
    assert first is second
    assert getattr(first, "inner", None) is engine
    # And after reset nothing is installed any more
    wiring.reset()
    assert wiring.installed_table() is None


def test_the_templates_table_matches_the_engines_keys_and_indexes(template: dict) -> None:
    check_schema(template)


@pytest.mark.parametrize(
    ("index", "key", "attribute"),
    [(0, 1, "gsi1other"), (1, 0, "gsi2hash")],
)
def test_a_template_whose_gsi_keys_differ_is_refused(
    template: dict, index: int, key: int, attribute: str
) -> None:
    # Given the template with one GSI key attribute renamed
    changed = copy.deepcopy(template)
    gsis = changed["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
    gsis[index]["KeySchema"][key]["AttributeName"] = attribute
    # Then the engine refuses it, naming what it serves
    with pytest.raises(TableSchemaMismatch, match="embedded engine serves"):
        check_schema(changed)


def test_a_template_missing_a_gsi_is_refused(template: dict) -> None:
    changed = copy.deepcopy(template)
    properties = changed["Resources"]["Table"]["Properties"]
    properties["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"][:1]
    with pytest.raises(TableSchemaMismatch):
        check_schema(changed)


def test_saved_items_load_back_equal_with_decimals_and_indexes(tmp_path: Path) -> None:
    # Given an engine holding items with money, nested values and index keys
    key = uuid.uuid4().hex
    first = EmbeddedTable()
    item = {
        "pk": f"REF#{key}",
        "sk": "META",
        "gsi1pk": f"PROG#{key}",
        "gsi1sk": "2030-01-01",
        "amount": Decimal("10.05"),
        "count": Decimal(3),
        "flags": {"vip": True, "scores": [Decimal("0.125"), "x"]},
        "raw": b"\x00\xff",
    }
    first.write([Put(item)])
    path = tmp_path / "state" / "table.jsonl"
    # When it is saved and loaded into a new engine
    assert first.save(path) == 1
    second = EmbeddedTable()
    assert second.load(path) == 1
    # Then the item reads back equal, and its index finds it
    assert second.get(f"REF#{key}", "META") == item
    assert second.query(f"PROG#{key}", index="gsi1").items == [item]


def test_the_saved_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    engine = EmbeddedTable()
    engine.write([Put({"pk": "a", "sk": "b"})])
    path = tmp_path / "table.jsonl"
    engine.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["table.jsonl"]


def test_loading_a_missing_file_loads_nothing(tmp_path: Path) -> None:
    assert EmbeddedTable().load(tmp_path / "absent.jsonl") == 0
