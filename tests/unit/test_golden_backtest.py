"""A fixed history replays to the decisions committed beside it, byte for byte.

The history is `python -m shared.training.generator --seed 5 --programs 2 --advocates 150
--days 45`; the decisions are `rewards backtest` on it with the committed model. Key
layouts and scheduled jobs may change how the replay reads and writes, never what it
decides. A retrained model changes decisions on purpose: regenerate the file then with
`rewards backtest tests/fixtures/golden/events.jsonl --out tests/fixtures/golden/decisions.jsonl`.
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.backtest.ops import parse_lines, read_ops
from shared.backtest.replay import Backtest
from shared.scoring.serving import load_judge

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


def _as_written(lines: list[dict[str, object]]) -> bytes:
    """The decisions file exactly as `rewards backtest --out` writes it."""
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()


def test_the_golden_history_replays_to_the_committed_decisions_byte_for_byte() -> None:
    # Given the committed history and the committed model
    ops = read_ops(GOLDEN / "events.jsonl")
    judge = load_judge(ROOT / "models")

    # When it is replayed with the incremental hourly re-score
    result = Backtest(judge).run(ops)

    # Then every decision line is the committed one
    assert _as_written(result.lines) == (GOLDEN / "decisions.jsonl").read_bytes()


def test_full_hourly_rescoring_decides_the_golden_history_as_the_incremental_one_does() -> None:
    # Given the first two weeks or so of the golden history (a full re-score of all of it
    # takes a minute)
    with (GOLDEN / "events.jsonl").open(encoding="utf-8") as handle:
        ops = list(parse_lines(line for _, line in zip(range(400), handle, strict=False)))
    judge = load_judge(ROOT / "models")

    # When it is replayed re-scoring every unpaid referral hourly, and only the changed ones
    full = Backtest(judge, incremental=False).run(ops)
    incremental = Backtest(judge, incremental=True).run(ops)

    # Then both write the same bytes
    assert _as_written(full.lines) == _as_written(incremental.lines)
