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
    row = TALLY[(backend, site, fault)]
    row.scenarios += 1
    row.injected += injected
    if survived:
        row.survived += injected


def note(backend: str, site: str, fault: str, text: str) -> None:
    TALLY[(backend, site, fault)].note = text


def render() -> list[str]:
    header = f"{'backend':<8} {'site':<30} {'fault':<18} {'scenarios':>9} {'injected':>8} {'survived':>8}"
    lines = [header, "-" * len(header)]
    for (backend, site, fault), row in sorted(TALLY.items()):
        line = f"{backend:<8} {site:<30} {fault:<18} {row.scenarios:>9} {row.injected:>8} {row.survived:>8}"
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
