"""Cold import of each function's handler module against `import boto3`, in fresh interpreters.

Each sample is a new interpreter with only AWS_DEFAULT_REGION in its environment, which
puts the function's own directory and the repository root on its path as Lambda puts the
function's code and the layer, and times the import itself: interpreter start-up excluded,
so the ratio is the stricter one, and in CPU time, which other work on a shared machine
disturbs far less than wall time (on two busy cores wall-clock medians moved by 30%).
Functions and boto3 take turns, five samples each; the figure is the ratio of the medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
SAMPLES = 5
GOAL = 1.5

_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.process_time()
import {module}
print(time.process_time() - started)
"""


def functions() -> list[str]:
    """Every function directory with a handler module, by name."""
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py"))


def import_seconds(module: str, paths: list[str], cwd: Path = ROOT) -> float:
    """CPU seconds to import `module` in a fresh interpreter (start-up not counted)."""
    env = {"AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    probe = _PROBE.format(paths=paths, module=module)
    done = subprocess.run(  # noqa: S603 - this interpreter, on a probe written above
        [sys.executable, "-c", probe],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(done.stdout.strip().splitlines()[-1])


def samples(names: list[str], rounds: int = SAMPLES) -> tuple[list[float], dict[str, list[float]]]:
    """boto3's samples and each function's, interleaved: boto3, then a function, in turn."""
    boto3: list[float] = []
    handlers: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            boto3.append(import_seconds("boto3", [str(ROOT)]))
            handlers[name].append(
                import_seconds("app", [str(FUNCTIONS / name), str(ROOT)], FUNCTIONS / name)
            )
    return boto3, handlers


def measure() -> list[dict[str, Any]]:
    boto3, handlers = samples(functions())
    baseline = statistics.median(boto3)
    figures = []
    for name, times in handlers.items():
        ratio = statistics.median(times) / baseline
        figures.append(
            {
                "name": f"cold import {name} / boto3",
                "value": round(ratio, 2),
                "unit": "x",
                "goal": f"<= {GOAL}",
                "met": ratio <= GOAL,
                "handler_ms": round(statistics.median(times) * 1000, 1),
                "boto3_ms": round(baseline * 1000, 1),
            }
        )
    return figures


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
