"""`make bench`: every speed, size and capacity goal, measured side by side in one run.

Timed assertions do not belong in the test suite (shared machines are noisy), so the goals
live here. Each section returns figures `{"name", "value", "unit", "goal", "met"}`; this
module prints them as a table and writes `bench/results.json` as
`{"figures": [...]}`. Ratios are the claims: both sides of a ratio are measured in the same
run, interleaved, so background load hits both alike.

A section that cannot run is a failed figure (`met: false`, with the error), never a
silent gap: only the package size may be reported skipped (`met: null`), when Lambda's
platform wheels cannot be fetched.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Figure = dict[str, Any]

# (section, module, function): each function takes no argument and returns figures.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("scoring", "shared.training.bench_scorer", "measure"),
    ("cold import", "shared.benchmarks.cold_import", "measure"),
    ("package size", "shared.benchmarks.package_size", "measure"),
    ("handler overhead", "shared.benchmarks.handler_overhead", "measure"),
    ("partition heat", "shared.benchmarks.heat", "measure"),
    ("local stack", "shared.benchmarks.local_stack", "measure"),
)

RESULTS = Path("bench/results.json")


def _failed(section: str, exc: BaseException) -> Figure:
    return {
        "name": f"{section}: could not be measured",
        "value": None,
        "unit": "",
        "goal": "measured",
        "met": False,
        "error": f"{type(exc).__name__}: {exc}",
    }


def run_section(section: str, measure: Callable[[], list[Figure]]) -> list[Figure]:
    """The section's figures, each tagged with its section; a crash is one failed figure."""
    started = time.perf_counter()
    try:
        figures = measure()
    except Exception as exc:
        traceback.print_exc()
        figures = [_failed(section, exc)]
    elapsed = time.perf_counter() - started
    for figure in figures:
        figure.setdefault("section", section)
    print(f"  ({section}: {elapsed:.1f} s)", flush=True)
    return figures


def _load(module: str, function: str) -> Callable[[], list[Figure]]:
    measure: Callable[[], list[Figure]] = getattr(importlib.import_module(module), function)
    return measure


def _format_value(figure: Figure) -> str:
    value = figure.get("value")
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _verdict(figure: Figure) -> str:
    met = figure.get("met")
    if met is None:
        return f"skipped ({figure.get('skipped', 'not measurable here')})"
    return "met" if met else "NOT MET" + (f" ({figure['error']})" if figure.get("error") else "")


def print_table(figures: Sequence[Figure]) -> None:
    width = max((len(f["name"]) for f in figures), default=10)
    for figure in figures:
        value = f"{_format_value(figure)} {figure.get('unit', '')}".strip()
        goal = f"goal {figure['goal']}"
        print(f"  {figure['name']:<{width}}  {value:>16}  {goal:<14} {_verdict(figure)}")


def all_met(figures: Sequence[Figure]) -> bool:
    """Every figure met; a skipped one (met is None) counts only where skipping is allowed."""
    return all(f["met"] is True or (f["met"] is None and "skipped" in f) for f in figures)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only this section (repeatable)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    chosen = [s for s in SECTIONS if not args.only or s[0] in args.only]
    figures: list[Figure] = []
    for section, module, function in chosen:
        print(f"{section} ...", flush=True)
        try:
            measure = _load(module, function)
        except Exception as exc:
            figures.append({**_failed(section, exc), "section": section})
            continue
        section_figures = run_section(section, measure)
        print_table(section_figures)
        figures.extend(section_figures)
    print("\nAll figures:")
    print_table(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"figures": figures}, indent=2, default=str) + "\n")
    print(f"\nwritten to {args.out}")
    return 0 if all_met(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
