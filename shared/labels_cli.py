"""`rewards labels export [--out FILE]`: reviewer decisions as training labels.

Reads the table of the local stack started from this checkout, or, when
`REWARDS_STACK_NAME` is set, the deployed stack's table on AWS (`--table` names one).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

STACK_NAME_VARIABLE = "REWARDS_STACK_NAME"
TABLE_LOGICAL_ID = "Table"


class NoTableError(RuntimeError):
    """No table to read: no local stack running and no AWS stack named."""


def _stack_table(cloudformation: Any, stack_name: str) -> str:
    detail = cloudformation.describe_stack_resource(
        StackName=stack_name, LogicalResourceId=TABLE_LOGICAL_ID
    )["StackResourceDetail"]
    return str(detail["PhysicalResourceId"])


def _local_table() -> Any:
    import boto3

    from shared.local.discovery import discovery_path, read_discovery
    from shared.local.moto_stack import DUMMY_CREDENTIALS, REGION
    from shared.storage.dynamo_table import DynamoTable

    info = read_discovery()
    if info is None or not info.get("moto_endpoint"):
        raise NoTableError(
            f"no local stack is running ({discovery_path()} not found); start one with "
            f"`rewards serve`, or set {STACK_NAME_VARIABLE} to read a deployed stack"
        )
    session = boto3.session.Session(region_name=REGION, **DUMMY_CREDENTIALS)
    endpoint = info["moto_endpoint"]
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    # moto's DescribeStackResource fails on resources it cannot model: list them instead.
    for stack in cloudformation.describe_stacks()["Stacks"]:
        listed = cloudformation.describe_stack_resources(StackName=stack["StackName"])
        for resource in listed["StackResources"]:
            if resource.get("LogicalResourceId") == TABLE_LOGICAL_ID:
                return DynamoTable(
                    resource["PhysicalResourceId"],
                    client=session.client("dynamodb", endpoint_url=endpoint),
                )
    raise NoTableError(f"the local stack at {endpoint} has no {TABLE_LOGICAL_ID} resource")


def _table(args: argparse.Namespace) -> Any:
    from shared.storage.dynamo_table import DynamoTable

    if args.table:
        return DynamoTable(args.table)
    stack_name = os.environ.get(STACK_NAME_VARIABLE)
    if stack_name:
        import boto3

        return DynamoTable(_stack_table(boto3.client("cloudformation"), stack_name))
    return _local_table()


def _export(args: argparse.Namespace) -> int:
    from shared.services.labels import LabelService

    service = LabelService(_table(args))
    if args.out is None:
        count = service.export(sys.stdout.write)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(f".{args.out.name}.partial")
        with tmp.open("w") as fh:
            count = service.export(fh.write)
        tmp.replace(args.out)
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
