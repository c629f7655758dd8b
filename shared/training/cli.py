"""`rewards train [--data FILE --labels FILE]... [--hold-out PATTERN] [--out models/]`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.training.dataset import Dataset

DEFAULT_SEED = 7
# Histories replayed at once: the machines this runs on have two cores or more.
REPLAY_PROCESSES = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the fraud model and write the artifact and model card",
        description=(
            "Replay a labelled history (backtest format plus a labels sidecar) through the "
            "serving feature extractor, fit the models, choose thresholds, evaluate, and write "
            "models/<version>/. Without --data, a seeded synthetic history is generated."
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help="history in backtest format (repeatable; each replayed on its own)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        action="append",
        help="labels for the --data in the same position: lines {program, referee, label}",
    )
    parser.add_argument("--out", type=Path, default=Path("models"), help="model directory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--hold-out",
        metavar="PATTERN",
        default=None,
        help="keep this labelled pattern out of fitting and report how it is caught",
    )
    parser.add_argument(
        "--dataset-cache",
        metavar="DIR",
        type=Path,
        default=None,
        help="keep each history's training rows here and reuse them while neither the "
        "history nor the code changed",
    )
    parser.set_defaults(func=_run)


def _histories(args: argparse.Namespace, tmp: Path) -> tuple[list[tuple[Path, Path]], str]:
    from shared.training.generator import generate, write_jsonl

    data, labels = args.data or [], args.labels or []
    if len(data) != len(labels):
        raise ValueError("every --data needs its --labels, in the same order")
    if data:
        names = ", ".join(
            f"{d.name} with labels {lab.name}" for d, lab in zip(data, labels, strict=True)
        )
        return list(zip(data, labels, strict=True)), names
    lines, label_rows = generate(seed=args.seed)
    history, label_file = tmp / "history.jsonl", tmp / "labels.jsonl"
    write_jsonl(history, lines)
    write_jsonl(label_file, label_rows)
    return [(history, label_file)], f"synthetic history, generator seed {args.seed}"


def datasets_of(histories: list[tuple[Path, Path]], cache: Path | None) -> list[Dataset]:
    """Each history's rows, replayed side by side: a replay is one core's work for minutes,
    and histories never share state (each gets its own table)."""
    from concurrent.futures import ProcessPoolExecutor

    from shared.training.dataset import dataset_from_files

    for data, _ in histories:
        print(f"rewards train: replaying {data} to compute features", file=sys.stderr)
    if len(histories) == 1:
        return [dataset_from_files(*histories[0], cache)]
    with ProcessPoolExecutor(min(len(histories), REPLAY_PROCESSES)) as pool:
        jobs = [pool.submit(dataset_from_files, d, lab, cache) for d, lab in histories]
        return [job.result() for job in jobs]


def _run(args: argparse.Namespace) -> int:
    from shared.training.dataset import combined
    from shared.training.train import train

    with tempfile.TemporaryDirectory() as tmp:
        histories, description = _histories(args, Path(tmp))
        dataset = combined(datasets_of(histories, args.dataset_cache))
    if args.hold_out and args.hold_out not in dataset.patterns:
        raise ValueError(f"--hold-out {args.hold_out}: no labelled referral has that pattern")
    manifest = train(
        dataset.features,
        dataset.labels,
        dataset.patterns,
        args.out,
        seed=args.seed,
        held_out_pattern=args.hold_out,
        data_sha256=dataset.sha256,
        data_description=description,
    )
    print(f"rewards train: wrote {args.out}/{manifest['version']}", file=sys.stderr)
    print(manifest["version"])
    return 0
