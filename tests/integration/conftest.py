"""Adapters on moto: the table and queue created from template.yaml's own definitions."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


def template_resource(logical_id: str) -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")["Resources"][logical_id]["Properties"]


def create_table(name: str) -> None:
    props = template_resource("Table")
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )


@pytest.fixture(scope="session")
def aws() -> Iterator[dict[str, str]]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in [*env, "AWS_ENDPOINT_URL"]}
    os.environ.update(env)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        table = f"rewards-{uuid.uuid4().hex[:8]}"
        create_table(table)
        queue = boto3.client("sqs").create_queue(QueueName=f"scoring-{uuid.uuid4().hex[:8]}")
        parameter = "/referral-rewards/pii-hmac-key"
        boto3.client("ssm").put_parameter(
            Name=parameter, Value=secrets.token_hex(32), Type="SecureString"
        )
        resources = {
            "TABLE_NAME": table,
            "SCORING_QUEUE_URL": queue["QueueUrl"],
            "PII_KEY_PARAMETER": parameter,
        }
        os.environ.update(resources)
        yield resources
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def load_handler(function_dir: str) -> ModuleType:
    path = ROOT / "functions" / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function_dir}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        # A fresh invocation of the longest-running function (release: 300 s).
        return 300_000


def http_event(
    method: str,
    route: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    roles: list[str] | None = None,
    sub: str = "tester",
    programs: list[str] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((EVENTS / "http_api_v2.json").read_text()))
    event["routeKey"] = f"{method} {route}"
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["routeKey"] = event["routeKey"]
    if roles is None:
        event["requestContext"].pop("authorizer")
    else:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = {
            "sub": sub,
            "roles": "[" + " ".join(roles) + "]",
        }
        if programs is not None:
            # API Gateway flattens a list claim the same way as `roles`.
            claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
            claims["programs"] = "[" + " ".join(programs) + "]"
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    event["body"] = (
        raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    )
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    return event


Invoke = Callable[..., tuple[int, dict[str, str], Any]]


@pytest.fixture(scope="session")
def invoke(aws: dict[str, str]) -> Invoke:
    from shared import wiring

    wiring.reset()
    modules: dict[str, ModuleType] = {}

    def call(
        function_dir: str, method: str, route: str, path: str | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, str], Any]:
        if function_dir not in modules:
            modules[function_dir] = load_handler(function_dir)
        event = http_event(method, route, path or route, **kwargs)
        response = modules[function_dir].lambda_handler(event, FakeContext())
        body = json.loads(response["body"]) if response.get("body") else None
        return response["statusCode"], response.get("headers", {}), body

    return call


def approved_in_functions_table(clock: Any) -> tuple[Any, str]:
    """A reward world on the table the functions themselves use, and a referral in it
    approved and due: what a handler test needs before release or a refund."""
    from shared import wiring
    from shared.adapters.memory_reward_queue import MemoryRewardQueue
    from shared.payouts.sandbox_faults import FaultPlan
    from tests.unit.rewards.conftest import World

    world = World(
        table=wiring.table(),  # type: ignore[arg-type]
        clock=clock,
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers={},
    )
    program_id = world.program()
    _, code = world.advocate(program_id)
    return world, world.approved(program_id, code)
