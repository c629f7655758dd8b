"""Fault-suite fixtures: the table backends, and the summary table at the end of the run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.local.template import load_template
from shared.storage.dynamo_table import DynamoTable
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Table
from tests.fault import tally

ROOT = Path(__file__).resolve().parents[2]
TableFactory = Callable[[], Table]


@pytest.fixture(scope="session")
def moto_tables() -> Iterator[TableFactory]:
    """Fresh tables on moto, defined as template.yaml defines the product's table."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in [*env, "AWS_ENDPOINT_URL"]}
    os.environ.update(env)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    props = load_template(ROOT / "template.yaml")["Resources"]["Table"]["Properties"]
    with mock_aws():
        client = boto3.client("dynamodb")

        def create() -> Table:
            name = f"fault-{uuid.uuid4().hex[:8]}"
            client.create_table(
                TableName=name,
                BillingMode=props["BillingMode"],
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            )
            return DynamoTable(name, client)

        yield create
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(params=["memory", "moto"])
def backend(request: pytest.FixtureRequest) -> tuple[str, TableFactory]:
    if request.param == "memory":
        return "memory", MemoryTable
    factory: Any = request.getfixturevalue("moto_tables")
    return "moto", factory


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not tally.TALLY:
        return
    terminalreporter.section("fault injection")
    for line in tally.render():
        terminalreporter.write_line(line)
