"""`rewards`: the command line of the service.

Each command module exposes `register(subparsers)`, which adds its subcommands and sets
`func(args) -> int` on each; add a module to COMMAND_MODULES to add commands. Modules are
imported when the CLI starts, so they import heavy dependencies inside their commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "shared.local.commands",
    "shared.local.jobs",
    "shared.labels_cli",
    "shared.training.history_cli",
    "shared.model_cli",
    "shared.training.cli",
    "shared.training.backtest_eval",
    "shared.backtest.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewards", description="Fraud-aware referral rewards: local stack, jobs and tools."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"rewards {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # One clear line, not a traceback: these are operator-facing commands.
        print(f"rewards {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
