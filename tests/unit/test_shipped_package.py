"""What the shared layer ships: product code, not the tests' doubles."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The Makefile's build-SharedLayer leaves these out of the layer.
NOT_SHIPPED = {"local", "training", "benchmarks", "bench.py", "cli.py", "labels_cli.py"}
TEST_DOUBLES = {"RecordedTransport", "RecordedMismatch", "InMemoryReferenceIndex"}


def _shipped_modules() -> list[Path]:
    return [
        path
        for path in (ROOT / "shared").rglob("*.py")
        if path.relative_to(ROOT / "shared").parts[0] not in NOT_SHIPPED
    ]


def test_no_shipped_module_defines_a_test_double() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {node.name}"
        for path in _shipped_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name in TEST_DOUBLES
    ]
    assert found == []


def test_the_layer_build_leaves_out_what_this_test_assumes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for name in NOT_SHIPPED:
        assert f"shared/{name}" in makefile, name
