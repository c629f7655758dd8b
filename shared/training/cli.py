"""`rewards train [--data FILE --labels FILE] [--out models/]`: train, evaluate, write."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

DEFAULT_SEED = 7


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
    parser.add_argument("--data", type=Path, default=None, help="history in backtest format")
    parser.add_argument("--labels", type=Path, default=None, help="labels sidecar for --data")
    parser.add_argument("--out", type=Path, default=Path("models"), help="model directory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from shared.training.dataset import dataset_from_files
    from shared.training.generator import generate, write_jsonl
    from shared.training.train import train

    if (args.data is None) != (args.labels is None):
        raise ValueError("--data and --labels go together")
    with tempfile.TemporaryDirectory() as tmp:
        data, labels = args.data, args.labels
        if data is None:
            lines, label_rows = generate(seed=args.seed)
            data, labels = Path(tmp) / "history.jsonl", Path(tmp) / "labels.jsonl"
            write_jsonl(data, lines)
            write_jsonl(labels, label_rows)
            description = f"synthetic history, generator seed {args.seed}"
        else:
            description = f"{data.name} with labels {labels.name}"
        print(f"rewards train: replaying {data} to compute features", file=sys.stderr)
        dataset = dataset_from_files(data, labels)
    manifest = train(
        dataset.features,
        dataset.labels,
        dataset.patterns,
        args.out,
        seed=args.seed,
        data_sha256=dataset.sha256,
        data_description=description,
    )
    print(f"rewards train: wrote {args.out}/{manifest['version']}", file=sys.stderr)
    print(manifest["version"])
    return 0
