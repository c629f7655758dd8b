"""Partition heat: a history replayed as if referrals arrived at 1,000/s, hottest keys.

One program takes all the traffic, the worst case for every per-program key (the program
item, its referral and audit lists, its status shards and counters).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

# 500 advocates over 30 days make ~1,700 referrals: enough for every per-second peak to
# form at 1,000 referrals/s, small enough to replay in about a minute.
HISTORY: dict[str, Any] = {"seed": 5, "n_programs": 1, "n_advocates": 500, "days": 30}


def measure() -> list[dict[str, Any]]:
    from shared.backtest.heat import heat_figures
    from shared.training.generator import generate, write_jsonl

    lines, _ = generate(**HISTORY)
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.jsonl"
        write_jsonl(events, lines)
        return heat_figures(events)
