"""Command line: writes the shop's operations and their ground-truth labels as JSONL."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from generators.lantern import fraud, legit
from generators.lantern.world import World

# Referrals per pattern at scale 1.0 (about 5,000 in all). Fraud converts ~90% of the time
# and legit ~65%, so these targets put fraud near 10% of converted referrals.
PATTERNS: tuple[tuple[str, Callable[[World, int], int], int], ...] = (
    ("ordinary_friend", legit.friends, 1900),
    ("household", legit.households, 300),
    ("office_coworkers", legit.offices, 260),
    ("mobile_cgnat", legit.mobile_cgnat, 420),
    ("influencer", legit.influencers, 480),
    ("traveller", legit.travellers, 170),
    ("shared_family_device", legit.shared_family_devices, 170),
    ("vpn_user", legit.vpn_users, 170),
    ("shared_family_card", legit.shared_family_cards, 170),
    ("ordinary_return", legit.ordinary_returns, 230),
    ("expat_vpn", legit.expats_with_vpns, 220),
    ("cross_border_minimum", fraud.cross_border_minimum, 100),
    ("alias_self_referral", fraud.alias_self_referral, 55),
    ("low_and_slow_farm", fraud.low_and_slow_farm, 55),
    ("synthetic_virtual_cards", fraud.synthetic_virtual_cards, 45),
    ("refund_abuse", fraud.refund_abuse, 36),
    ("cross_program_ring", fraud.cross_program_ring, 36),
)


def generate(seed: int, days: int = 60, scale: float = 1.0) -> World:
    world = World(seed, days)
    for _, write, referrals in PATTERNS:
        write(world, max(1, round(referrals * scale)))
    return world


def _write_jsonl(path: Path, records: Sequence[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generators.lantern", description=__doc__)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="EVENTS.jsonl")
    parser.add_argument("--labels", type=Path, required=True, help="LABELS.jsonl")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.days < 14 or args.scale <= 0:
        parser.error("--days must be at least 14 and --scale positive")
    world = generate(args.seed, args.days, args.scale)
    _write_jsonl(args.out, world.sorted_ops())
    _write_jsonl(args.labels, world.labels)
    return 0
