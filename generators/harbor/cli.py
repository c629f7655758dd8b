"""``python -m generators.harbor --seed S --out EVENTS.jsonl --labels LABELS.jsonl``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from generators.harbor import campus, fraud, legit
from generators.harbor.shop import PROGRAMS
from generators.harbor.world import World

# (pattern, episodes at scale 1.0). Episode sizes vary per pattern; README lists the
# referral shares they produce. Fraud is about 8% of converted referrals.
PATTERNS: tuple[tuple[Callable[[World, int], None], int], ...] = (
    (legit.ordinary_friends, 1100),
    (legit.households, 140),
    (legit.coworkers, 26),
    (legit.mobile_cgnat, 170),
    (legit.influencers, 6),
    (legit.travellers, 130),
    (legit.shared_family_device, 70),
    (legit.vpn_users, 130),
    (legit.shared_family_card, 90),
    (legit.ordinary_returns, 220),
    (legit.group_trips, 24),
    (campus.campus_networks, 170),
    (fraud.account_takeover, 6),
    (fraud.self_referral_aliases, 20),
    (fraud.cross_program_rings, 4),
    (fraud.refund_after_reward, 7),
    (fraud.prepaid_slow_drip, 3),
    (fraud.emulator_farms, 1),
)


def generate(seed: int, days: int = 60, scale: float = 1.0) -> World:
    world = World(seed, days, scale)
    for spec in PROGRAMS.values():
        world.ledger.program(spec, 0)
    for pattern, episodes in PATTERNS:
        pattern(world, episodes)
    return world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generators.harbor", description=__doc__)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="events JSONL")
    parser.add_argument("--labels", type=Path, required=True, help="labels JSONL")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--summary", action="store_true", help="print counts per pattern")
    args = parser.parse_args(argv)
    if args.days < 1 or args.scale <= 0:
        parser.error("--days must be >= 1 and --scale > 0")
    world = generate(args.seed, args.days, args.scale)
    world.ledger.write(args.out, args.labels)
    if args.summary:
        json.dump(world.ledger.summary(), sys.stderr, indent=1, sort_keys=True)
        sys.stderr.write("\n")
    return 0
