"""`rewards labels export [--out FILE]`: reviewer decisions as training labels.

Reads the table of the local stack started from this checkout, or, when
`REWARDS_STACK_NAME` is set, the deployed stack's table on AWS (`--table` names one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shared.config import STACK_NAME_VARIABLE, deployed_stack_name

TABLE_LOGICAL_ID = "Table"


class NoTableError(RuntimeError):
    """No table to read: no local stack running and no AWS stack named."""


def _stack_table(cloudformation: Any, stack_name: str) -> str:
    detail = cloudformation.describe_stack_resource(
        StackName=stack_name, LogicalResourceId=TABLE_LOGICAL_ID
    )["StackResourceDetail"]
    return str(detail["PhysicalResourceId"])


def _local_labels() -> str:
    """Every label as JSON lines from the local stack, through its loopback control
    endpoint: the stack's table may live inside its process, not on moto."""
    from shared.local.control_client import (
        LocalStackRefused,
        LocalStackUnavailable,
        ask_local_stack,
    )

    try:
        return ask_local_stack("/_local/labels-export", b"{}", timeout=600).decode()
    except LocalStackRefused as exc:
        raise NoTableError(f"the local stack refused the export: {exc}") from exc
    except LocalStackUnavailable as exc:
        raise NoTableError(str(exc)) from exc


def _table(args: argparse.Namespace) -> Any:
    """The AWS table to read, or None for the local stack."""
    from shared.storage.dynamo_table import DynamoTable

    if args.table:
        return DynamoTable(args.table)
    stack_name = deployed_stack_name()
    if stack_name:
        import boto3

        return DynamoTable(_stack_table(boto3.client("cloudformation"), stack_name))
    return None


def _write_labels(args: argparse.Namespace, write_all: Any) -> int:
    if args.out is None:
        return int(write_all(sys.stdout.write))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.partial")
    with tmp.open("w") as fh:
        count = int(write_all(fh.write))
    tmp.replace(args.out)
    return count


def _export(args: argparse.Namespace) -> int:
    from shared.bootstrap import bootstrap
    from shared.clock import SystemClock

    table = _table(args)
    if table is None:
        text = _local_labels()

        def write_all(write: Any) -> int:
            write(text)
            return len(text.splitlines())

        count = _write_labels(args, write_all)
    else:
        count = _write_labels(args, bootstrap(table=table, clock=SystemClock()).labels.export)
    print(f"{count} labels exported", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    labels = subparsers.add_parser(
        "labels",
        help="reviewer decisions as training labels",
        description="Reviewer decisions as training labels.",
    )
    commands = labels.add_subparsers(dest="labels_command", metavar="ACTION", required=True)
    export = commands.add_parser(
        "export",
        help="write every label as JSON lines",
        description=(
            "Write every final reviewer decision as one JSON object a line (fraud: true for "
            "a rejection), from the local stack or, with "
            f"{STACK_NAME_VARIABLE} set, from AWS."
        ),
    )
    export.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")
    export.add_argument("--table", default=None, help="read this DynamoDB table instead")
    export.set_defaults(func=_export)
