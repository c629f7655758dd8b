"""The shape the product's code keeps: no function longer than 60 lines.

ruff holds complexity (C901) and statement counts (PLR0915); this holds the length a
reader has to keep in view, decorators included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
PRODUCT = ("shared", "functions", "generators")
MAX_LINES = 60


def _long_functions() -> list[str]:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    length = (node.end_lineno or node.lineno) - first + 1
                    if length > MAX_LINES:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {length}")
    return found


def test_no_product_function_is_longer_than_60_lines() -> None:
    assert _long_functions() == []
