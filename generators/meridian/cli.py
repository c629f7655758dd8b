"""`python -m generators.meridian --seed S --out EVENTS.jsonl --labels LABELS.jsonl`."""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

from generators.meridian import fraud, legit
from generators.meridian.identities import Forge
from generators.meridian.world import World


def generate(seed: int, days: int = 60, scale: float = 1.0) -> tuple[list[dict], list[dict]]:
    """All ops sorted by time, and one label per referral in the same order."""
    rng = random.Random(seed)
    world = World(rng, Forge(rng), days)
    world.open_programs()
    for pattern in (*legit.PATTERNS, *fraud.PATTERNS):
        pattern(world, scale)
    ops = world.ops()
    by_referee = {(label["program"], label["referee"]): label for label in world.labels}
    labels = [
        by_referee[(op["program"], op["body"]["referee"]["customer_id"])]
        for op in ops
        if op["op"] == "referral"
    ]
    return ops, labels


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generators.meridian", description=__doc__)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="EVENTS.jsonl")
    parser.add_argument("--labels", type=Path, required=True, help="LABELS.jsonl")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.days < 21 or args.scale <= 0:
        parser.error("--days must be at least 21 and --scale positive")
    ops, labels = generate(args.seed, args.days, args.scale)
    _write(args.out, ops)
    _write(args.labels, labels)
    return 0
