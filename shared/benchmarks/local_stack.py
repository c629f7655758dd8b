"""The local stack under load: 8 clients recording, purchasing and reading referrals until
scored, against `rewards serve` started for the run on its default (embedded) engine.

Its own stack runs in a child process (`served_stack`), so the driver's client threads do
not share an interpreter lock with the handlers they measure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shared.local.load import LoadResult, run_load, served_stack, tokens_for

CLIENTS = 8
REFERRALS_PER_CLIENT = 500
# 4,000 referrals at the 20/s goal take 200 s; past 6 minutes the run stops starting cycles.
MAX_SECONDS = 360.0
GOAL_RATE = 20.0
GOAL_RATIO = 0.8
ROOT = Path(__file__).resolve().parents[2]


def _load_average() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def figures_of(result: LoadResult, load_average: str) -> list[dict[str, Any]]:
    note = (
        f"{result.count} referrals, {CLIENTS} clients, {result.elapsed_s:.0f} s; "
        f"load average {load_average} (1/5/15 min)"
    )
    errors = len(result.errors) + len(result.read_back_failures)
    ratio = result.last_to_first_ratio
    return [
        {
            "name": f"local stack referrals/s, {CLIENTS} clients",
            "value": round(result.rate_per_s, 1),
            "unit": "referrals/s",
            "goal": f">= {GOAL_RATE:g}",
            "met": result.rate_per_s >= GOAL_RATE,
            "note": note,
        },
        {
            "name": "local stack cycle p99",
            "value": round(result.p99_cycle_s, 3),
            "unit": "s",
            "goal": "reported",
            "met": result.count > 0,
            "note": f"p50 {result.p50_cycle_s:.3f} s",
        },
        {
            "name": "local stack errors",
            "value": errors,
            "unit": "errors",
            "goal": "0",
            "met": errors == 0,
        },
        {
            "name": "local stack rate last 500 / first 500",
            "value": round(ratio, 2),
            "unit": "ratio",
            "goal": f">= {GOAL_RATIO:g}",
            "met": ratio >= GOAL_RATIO,
            "note": f"windows of {result.window} referrals",
        },
    ]


def measure(
    clients: int = CLIENTS,
    referrals_per_client: int = REFERRALS_PER_CLIENT,
    max_seconds: float = MAX_SECONDS,
) -> list[dict[str, Any]]:
    with served_stack(ROOT) as url:
        result = run_load(
            url,
            tokens_for(ROOT),
            clients=clients,
            referrals_per_client=referrals_per_client,
            max_seconds=max_seconds,
        )
    return figures_of(result, _load_average())


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
