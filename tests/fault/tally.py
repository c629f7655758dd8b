"""What was injected where, and whether the system survived it, for the summary table."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass
class Row:
    injected: int = 0
    survived: int = 0
    scenarios: int = 0
    note: str = ""


TALLY: dict[tuple[str, str, str], Row] = defaultdict(Row)


def record(backend: str, site: str, fault: str, injected: int, survived: bool) -> None:
    """`survived`: every invariant held after the scenario."""
    row = TALLY[(backend, site, fault)]
    row.scenarios += 1
    row.injected += injected
    if survived:
        row.survived += injected


def note(backend: str, site: str, fault: str, text: str) -> None:
    TALLY[(backend, site, fault)].note = text


COLUMNS = ("backend", 8), ("site", 30), ("fault", 18), ("scenarios", 9), ("injected", 8)
COUNTS = (("survived", 8),)


def _line(cells: list[object]) -> str:
    widths = [w for _, w in COLUMNS + COUNTS]
    return " ".join(
        f"{c!s:<{w}}" if i < 3 else f"{c!s:>{w}}" for i, (c, w) in enumerate(zip(cells, widths))
    )


def render() -> list[str]:
    header = _line([name for name, _ in COLUMNS + COUNTS])
    lines = [header, "-" * len(header)]
    for (backend, site, fault), row in sorted(TALLY.items()):
        cells: list[object] = [backend, site, fault, row.scenarios, row.injected]
        line = _line([*cells, row.survived])
        lines.append(f"{line}  {row.note}" if row.note else line)
    injected = sum(r.injected for r in TALLY.values())
    survived = sum(r.survived for r in TALLY.values())
    per_site: dict[str, int] = defaultdict(int)
    for (_, site, _), row in TALLY.items():
        per_site[site] += row.injected
    lines.append("-" * len(header))
    lines.append(f"total: {injected} faults injected, {survived} survived")
    lines.append("per site: " + ", ".join(f"{s} {n}" for s, n in sorted(per_site.items())))
    return lines
