"""`rewards backtest EVENTS.jsonl [--out decisions.jsonl]`: replay a history, write decisions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="replay a recorded history through the scoring pipeline",
        description=(
            "Replay EVENTS.jsonl (one operation a line, in time order) through the same "
            "services the functions use, on an in-memory table with a simulated clock: "
            "re-score hourly, release daily. Writes one decision line per referral operation."
        ),
    )
    parser.add_argument("events", type=Path, metavar="EVENTS.jsonl")
    parser.add_argument(
        "--out", type=Path, default=None, help="decisions file (default: standard output)"
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=Path("models"),
        help="trained model directory (default: models/); without a model, rules only",
    )
    parser.add_argument(
        "--features",
        type=Path,
        default=None,
        help="also write the features behind each referral's last score (JSON lines)",
    )
    parser.add_argument(
        "--full-rescore",
        action="store_true",
        help="look at every unpaid referral in every hourly re-score (slower, same outcome)",
    )
    parser.add_argument(
        "--heat",
        action="store_true",
        help=(
            "instead of decisions, replay with time compressed to 1,000 referrals a second "
            "and print the peak capacity units a second of the hottest partition keys"
        ),
    )
    parser.set_defaults(func=_run)


def _write_lines(handle: IO[str], rows: list[dict[str, Any]]) -> None:
    for row in rows:
        handle.write(json.dumps(row, sort_keys=False, separators=(",", ":")) + "\n")


def _run(args: argparse.Namespace) -> int:
    from shared.backtest.ops import read_ops
    from shared.backtest.replay import Backtest
    from shared.progress import progress
    from shared.scoring.serving import load_judge

    if not args.events.is_file():
        raise FileNotFoundError(f"no such input file: {args.events}")
    if args.heat:
        return _heat(args)
    ops = read_ops(args.events)
    model = load_judge(args.models)
    if model is None:
        print(
            f"rewards backtest: no trained model in {args.models}/; deciding on rules only "
            "(model_version rules-1)",
            file=sys.stderr,
        )
    replay = Backtest(model, incremental=not args.full_rescore)
    result = replay.run(progress(ops, total=len(ops), desc="backtest", unit="op"))
    if args.out is None:
        _write_lines(sys.stdout, result.lines)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as handle:
            _write_lines(handle, result.lines)
    if args.features is not None:
        rows = [
            {"program": line["program"], "referee": line["referee"], "features": features}
            for line, features in zip(result.lines, result.features, strict=True)
        ]
        with args.features.open("w", encoding="utf-8") as handle:
            _write_lines(handle, rows)
    print(f"rewards backtest: {json.dumps(result.stats)}", file=sys.stderr)
    return 0


def _heat(args: argparse.Namespace) -> int:
    from shared.backtest.heat import report_lines, run_heat

    report = run_heat(args.events, args.models)
    lines = list(report_lines(report))
    if args.out is None:
        print("\n".join(lines))
    else:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if report.met else 2
