"""`rewards history export --out DIR`: the stored history as `DIR/events.jsonl` (a
backtest input) and `DIR/labels.jsonl` (training labels), see
`shared.training.history_export`.

Reads the local stack started from this checkout through its loopback control endpoint,
or, with `--table` or `REWARDS_STACK_NAME`, the deployed stack's table on AWS.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.clock import iso
from shared.config import STACK_NAME_VARIABLE


def export_document(table: Any, hasher: Any, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The export of `table` as {"events": [...], "labels": [...]}: what the local
    stack's control endpoint answers, and what the AWS path writes."""
    from shared.domain.customers import pseudonym
    from shared.repositories.history import StoredHistory
    from shared.training.history_export import HistoryExport

    def erased(customer_id: str) -> str:
        return pseudonym(hasher, customer_id)

    exported = HistoryExport(StoredHistory(table), erased, now).export()
    return {"events": exported.ops, "labels": exported.labels}


class NoHistoryError(RuntimeError):
    """No stack to read: none running locally, none named on AWS, or it refused."""


def _local_document(now: datetime) -> dict[str, Any]:
    """The export from the local stack's loopback control endpoint, which reads the
    stack's own table (it may live inside the stack's process)."""
    from shared.local.control_client import (
        LocalStackRefused,
        LocalStackUnavailable,
        ask_local_stack,
    )

    body = json.dumps({"now": iso(now)}).encode()
    try:
        return dict(json.loads(ask_local_stack("/_local/history-export", body, timeout=600)))
    except LocalStackRefused as exc:
        raise NoHistoryError(f"the local stack refused the export: {exc}") from exc
    except LocalStackUnavailable as exc:
        raise NoHistoryError(str(exc)) from exc


def _aws_document(args: argparse.Namespace, now: datetime) -> dict[str, Any] | None:
    from shared import wiring
    from shared.labels_cli import _table

    table = _table(args)
    if table is None:
        return None
    return export_document(table, wiring.hasher(), now)


def _export(args: argparse.Namespace) -> int:
    from shared.training.history_export import write_jsonl

    now = datetime.now(UTC)
    document = _aws_document(args, now) or _local_document(now)
    events = write_jsonl(args.out / "events.jsonl", document["events"])
    labels = write_jsonl(args.out / "labels.jsonl", document["labels"])
    print(f"{events} operations and {labels} labels exported to {args.out}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    history = subparsers.add_parser(
        "history",
        help="the stored history as a backtest input and training labels",
        description="The stored history as a backtest input and training labels.",
    )
    commands = history.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    export = commands.add_parser(
        "export",
        help="write DIR/events.jsonl and DIR/labels.jsonl",
        description=(
            "Write the stored history as DIR/events.jsonl (backtest operations with keyed "
            "hashes for personal values) and DIR/labels.jsonl (fraud and legit labels), "
            f"from the local stack or, with {STACK_NAME_VARIABLE} set, from AWS."
        ),
    )
    export.add_argument("--out", type=Path, required=True, help="directory to write")
    export.add_argument("--table", default=None, help="read this DynamoDB table instead")
    export.set_defaults(func=_export)
