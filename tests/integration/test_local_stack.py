"""The local stack against a small fixture template: gateway, pollers, jobs and state."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.local.dev_tokens import mint_token
from shared.local.discovery import discovery_path, read_discovery
from shared.local.handlers import HandlerLoadError
from shared.local.jobs import run_local_job
from shared.local.stack import LocalStack, LocalStackError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "local_stack"
PROBLEM = "application/problem+json"


def copy_fixture(destination: Path) -> Path:
    shutil.copytree(FIXTURE, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture(tmp_path_factory.mktemp("local_stack") / "checkout")


# The fixture's functions write their items with boto3, so its stacks serve the table on moto.
@pytest.fixture(scope="module")
def stack(root: Path) -> Iterator[LocalStack]:
    with LocalStack(root, port=0, engine="moto") as running:
        yield running


def bearer(root: Path, *roles: str, **kwargs: Any) -> dict[str, str]:
    token = mint_token(list(roles or ["client"]), "user-1", root=root, **kwargs)
    return {"Authorization": f"Bearer {token}"}


def echoed(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["event"]


def item(stack: LocalStack, message_id: str) -> dict[str, Any] | None:
    found = stack.client("dynamodb").get_item(
        TableName=stack.physical_id("Table"),
        Key={"pk": {"S": f"msg#{message_id}"}, "sk": {"S": "done"}},
    )
    return found.get("Item")


def send(stack: LocalStack, *bodies: dict[str, Any], delay_s: int = 0) -> None:
    stack.client("sqs").send_message_batch(
        QueueUrl=stack.physical_id("WorkQueue"),
        Entries=[
            {"Id": str(i), "MessageBody": json.dumps(body), "DelaySeconds": delay_s}
            for i, body in enumerate(bodies)
        ],
    )


# Gateway


def test_route_with_path_parameters_reaches_the_handler_as_a_v2_event(
    stack: LocalStack, root: Path
) -> None:
    # Given a route with a path parameter
    # When a client posts to it with a query string and a JSON body
    response = requests.post(
        f"{stack.url}/v1/things/th%201/events?x=1&x=2&y=",
        json={"a": 1},
        headers={**bearer(root), "X-Custom": "Yes", "Cookie": "a=1; b=2"},
        timeout=10,
    )

    # Then the handler gets an API Gateway payload 2.0 event for that route
    event = echoed(response)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/things/{thing_id}/events"
    assert event["rawPath"] == "/v1/things/th%201/events"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"thing_id": "th 1"}
    assert event["headers"]["x-custom"] == "Yes"
    assert event["cookies"] == ["a=1", "b=2"]
    assert json.loads(event["body"]) == {"a": 1}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/v1/things/th%201/events"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["routeKey"] == event["routeKey"]
    assert context["stage"] == "$default"
    assert context["accountId"] and context["apiId"] and context["requestId"]
    assert abs(context["timeEpoch"] / 1000 - datetime.now(UTC).timestamp()) < 60


def test_token_claims_reach_the_handler_with_roles_as_a_list(stack: LocalStack, root: Path) -> None:
    # Given a token for a person with two roles
    headers = bearer(root, "client", "finance")

    # When they call an authorized route
    event = echoed(requests.get(f"{stack.url}/v1/things/t1", headers=headers, timeout=10))

    # Then the authorizer's claims are in the event
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "user-1"
    assert claims["roles"] == ["client", "finance"]
    assert claims["iss"] == "referral-rewards-local"


def test_the_handler_gets_a_lambda_context_of_its_deployed_function(
    stack: LocalStack, root: Path
) -> None:
    # When a route is called
    body = requests.get(f"{stack.url}/v1/things/t1", headers=bearer(root), timeout=10).json()

    # Then the context names the function moto created, with its memory and time left
    context = body["context"]
    assert context["function_name"] == stack.physical_id("EchoFunction")
    assert context["invoked_function_arn"].endswith(f":function:{context['function_name']}")
    assert context["memory_limit_in_mb"] == "256"
    assert 0 < context["remaining_ms"] <= 10_000


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("missing", {}),
        ("not bearer", {"Authorization": "Basic dXNlcjpwdw=="}),
        ("malformed", {"Authorization": "Bearer not-a-jwt"}),
        ("expired", "expired"),
        ("other checkout", "other checkout"),
    ],
)
def test_request_without_a_valid_token_is_refused_with_401_problem(
    stack: LocalStack, root: Path, tmp_path: Path, case: str, headers: Any
) -> None:
    # Given a request whose token is missing or would fail the JWT authorizer
    if headers == "expired":
        headers = bearer(root, issued_at=datetime.now(UTC) - timedelta(hours=30))
    elif headers == "other checkout":
        headers = {"Authorization": f"Bearer {mint_token(['client'], 'u', root=tmp_path)}"}

    # When it reaches an authorized route
    response = requests.get(f"{stack.url}/v1/things/t1", headers=headers, timeout=10)

    # Then the gateway answers 401 itself, as a problem document
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM
    problem = response.json()
    assert {k: problem[k] for k in ("type", "title", "status")} == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
    }
    assert problem["detail"]


def test_route_with_auth_none_needs_no_token(stack: LocalStack) -> None:
    # When the opted-out route is called without a token
    event = echoed(requests.get(f"{stack.url}/v1/public", timeout=10))

    # Then the handler runs, with no authorizer context
    assert event["routeKey"] == "GET /v1/public"
    assert "authorizer" not in event["requestContext"]


def test_unknown_path_is_404_problem(stack: LocalStack, root: Path) -> None:
    response = requests.get(f"{stack.url}/v1/nowhere", headers=bearer(root), timeout=10)

    assert response.status_code == 404
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json()["title"] == "Not Found"


def test_wrong_method_on_a_known_path_is_405_problem(stack: LocalStack, root: Path) -> None:
    response = requests.delete(f"{stack.url}/v1/things/t1", headers=bearer(root), timeout=10)

    assert response.status_code == 405
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["Allow"] == "GET"
    assert response.json()["status"] == 405


def test_body_over_64_kib_is_413_problem(stack: LocalStack, root: Path) -> None:
    response = requests.post(
        f"{stack.url}/v1/things/t1/events",
        data=b"x" * (64 * 1024 + 1),
        headers=bearer(root),
        timeout=10,
    )

    assert response.status_code == 413
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json()["status"] == 413


def test_body_of_exactly_64_kib_is_accepted(stack: LocalStack, root: Path) -> None:
    response = requests.post(
        f"{stack.url}/v1/things/t1/events",
        data=b"x" * (64 * 1024),
        headers=bearer(root),
        timeout=10,
    )

    assert len(echoed(response)["body"]) == 64 * 1024


def test_handler_exception_is_500_problem_and_the_gateway_keeps_serving(
    stack: LocalStack, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # When a handler raises
    failed = requests.get(f"{stack.url}/v1/boom", headers=bearer(root), timeout=10)

    # Then the client gets a 500 problem, the traceback is logged, and the next request works
    assert failed.status_code == 500
    assert failed.headers["Content-Type"] == PROBLEM
    assert "asked to fail" in caplog.text
    assert requests.get(f"{stack.url}/v1/public", timeout=10).status_code == 200


def test_non_utf8_body_reaches_the_handler_base64_encoded(stack: LocalStack, root: Path) -> None:
    payload = b"\xff\xfe\x00binary"

    event = echoed(
        requests.post(
            f"{stack.url}/v1/things/t1/events", data=payload, headers=bearer(root), timeout=10
        )
    )

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_handler_status_headers_and_cookies_are_written_back(stack: LocalStack, root: Path) -> None:
    response = requests.get(
        f"{stack.url}/v1/things/t1?status=201", headers=bearer(root), timeout=10
    )

    assert response.status_code == 201
    assert response.headers["x-echo"] == "yes"
    assert response.cookies["echo"] == "1"


# Resources from the template


def test_function_environment_comes_from_the_created_stack(stack: LocalStack, root: Path) -> None:
    # Then the table and queue the functions are told about are the stack's own
    assert os.environ["TABLE_NAME"] == stack.physical_id("Table")
    assert os.environ["TABLE_NAME"].startswith(f"{stack.stack.name}-Table-")
    assert (
        os.environ["WORK_QUEUE_URL"].rsplit("/", 1)[1]
        == stack.physical_id("WorkQueue").rsplit("/", 1)[1]
    )
    assert os.environ["MODEL_DIR"] == str(root / "models")
    assert os.environ["AWS_ENDPOINT_URL"] == stack.moto_endpoint


def test_pii_key_is_in_ssm_under_the_templates_parameter_name(
    stack: LocalStack, root: Path
) -> None:
    parameter = stack.client("ssm").get_parameter(
        Name="/local-stack-fixture/pii-hmac-key", WithDecryption=True
    )["Parameter"]

    assert parameter["Type"] == "SecureString"
    assert parameter["Value"] == (root / ".local" / "pii-key").read_text().strip()
    assert len(bytes.fromhex(parameter["Value"])) == 32


def test_motos_own_event_source_mapping_is_disabled(stack: LocalStack) -> None:
    # Given the mapping moto created from the WorkerFunction's SQS event
    queue_arn = stack.stack.mappings[0].queue_arn if stack.stack else ""
    mappings = stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    worker = f":function:{stack.physical_id('WorkerFunction')}"
    mappings = [m for m in mappings if m["FunctionArn"].endswith(worker)]

    # Then it is disabled, so only the local pollers consume the queue
    assert [(m["EventSourceArn"], m["State"]) for m in mappings] == [(queue_arn, "Disabled")]
    assert queue_arn.endswith(stack.physical_id("WorkQueue").rsplit("/", 1)[1])


def test_stack_json_describes_the_running_stack(stack: LocalStack, root: Path) -> None:
    info = read_discovery(root)

    assert info is not None
    assert info["url"] == stack.url
    assert info["port"] == stack.port
    assert info["moto_endpoint"] == stack.moto_endpoint
    assert {"pid", "started_at"} <= set(info)


def test_a_second_stack_hands_stack_json_back_to_the_running_one_on_stop(
    stack: LocalStack, root: Path
) -> None:
    # Given a second stack started from the same checkout, which lists itself
    with LocalStack(root, port=0, engine="moto") as second:
        assert (read_discovery(root) or {}).get("url") == second.url

    # When it stops, the first (still running) stack is listed again
    assert (read_discovery(root) or {}).get("url") == stack.url


# Queues


def test_sqs_messages_are_delivered_in_batches_of_at_most_the_batch_size(stack: LocalStack) -> None:
    # Given ten messages that become visible at the same moment (delayed, so the pollers
    # see them all at once rather than racing the sender)
    ids = [uuid.uuid4().hex for _ in range(10)]
    send(stack, *({"id": i} for i in ids), delay_s=1)

    # When the pollers have consumed them
    stack.drain(timeout=15)

    # Then each was processed once, in batches no larger than the mapping's BatchSize of 5
    items = [item(stack, i) for i in ids]
    assert all(items)
    batch_sizes = {int(i["batch_size"]["N"]) for i in items if i}
    assert max(batch_sizes) == 5
    assert all(i["event_source"]["S"] == "aws:sqs" for i in items if i)


def test_failed_messages_are_retried_until_they_succeed(stack: LocalStack) -> None:
    # Given a message the function fails on its first two receives
    message_id = uuid.uuid4().hex
    send(stack, {"id": message_id, "fail_until": 2})

    # When the queue is drained
    stack.drain(timeout=15)

    # Then the third delivery succeeded
    processed = item(stack, message_id)
    assert processed is not None
    assert processed["receive_count"]["N"] == "3"


def test_messages_failing_max_receive_count_times_land_in_the_dlq_and_none_are_lost(
    stack: LocalStack,
) -> None:
    # Given a batch where one message always fails and two succeed
    good, bad = [uuid.uuid4().hex, uuid.uuid4().hex], uuid.uuid4().hex
    send(stack, {"id": good[0]}, {"id": bad, "always_fail": True}, {"id": good[1]})

    # When the queue is drained (the redrive policy allows 3 receives)
    stack.drain(timeout=20)

    # Then the good ones were processed and the bad one is in the DLQ after 3 receives
    assert all(item(stack, i) for i in good)
    assert item(stack, bad) is None
    dead = stack.client("sqs").receive_message(
        QueueUrl=stack.physical_id("WorkDeadLetterQueue"),
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    dead_bodies = {json.loads(m["Body"])["id"]: m for m in dead}
    assert bad in dead_bodies
    assert int(dead_bodies[bad]["Attributes"]["ApproximateReceiveCount"]) >= 3


# Jobs


def test_control_endpoint_runs_the_scheduled_function_at_the_given_time(
    stack: LocalStack, root: Path
) -> None:
    # When an admin asks for the release job at a given time
    response = requests.post(
        f"{stack.url}/_local/jobs/release",
        json={"now": "2031-02-03T04:05:06Z"},
        headers=bearer(root, "admin"),
        timeout=10,
    )

    # Then ReleaseFunction ran with a Scheduled Event for that time, and its result comes back
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["now"] == "2031-02-03T04:05:06Z"
    assert result["source"] == "aws.events"
    assert result["detail_type"] == "Scheduled Event"
    assert result["function_name"] == stack.physical_id("ReleaseFunction")
    assert result["resources"][0].startswith("arn:aws:events:us-east-1:")


@pytest.mark.parametrize(("roles", "status"), [((), 401), (("client", "finance"), 403)])
def test_control_endpoint_needs_an_admin_token(
    stack: LocalStack, root: Path, roles: tuple[str, ...], status: int
) -> None:
    headers = bearer(root, *roles) if roles else {}

    response = requests.post(
        f"{stack.url}/_local/jobs/release", json={}, headers=headers, timeout=10
    )

    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize(("roles", "status"), [((), 401), (("client", "finance"), 403)])
def test_labels_export_endpoint_needs_an_admin_token(
    stack: LocalStack, root: Path, roles: tuple[str, ...], status: int
) -> None:
    headers = bearer(root, *roles) if roles else {}

    response = requests.post(
        f"{stack.url}/_local/labels-export", json={}, headers=headers, timeout=10
    )

    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize(("roles", "status"), [((), 401), (("client", "finance"), 403)])
def test_history_export_endpoint_needs_an_admin_token(
    stack: LocalStack, root: Path, roles: tuple[str, ...], status: int
) -> None:
    headers = bearer(root, *roles) if roles else {}

    response = requests.post(
        f"{stack.url}/_local/history-export", json={}, headers=headers, timeout=10
    )

    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM


def test_control_endpoint_rejects_a_time_without_z(stack: LocalStack, root: Path) -> None:
    response = requests.post(
        f"{stack.url}/_local/jobs/release",
        json={"now": "2031-02-03T04:05:06+01:00"},
        headers=bearer(root, "admin"),
        timeout=10,
    )

    assert response.status_code == 422


def test_job_whose_function_is_not_in_the_template_is_404(stack: LocalStack, root: Path) -> None:
    response = requests.post(
        f"{stack.url}/_local/jobs/rescore", json={}, headers=bearer(root, "admin"), timeout=10
    )

    assert response.status_code == 404
    assert "RescoreFunction" in response.json()["detail"]


def test_cli_job_runner_finds_the_stack_through_stack_json(stack: LocalStack, root: Path) -> None:
    result = run_local_job("release", datetime(2032, 1, 1, tzinfo=UTC), root=root)

    assert result["now"] == "2032-01-01T00:00:00Z"


def test_run_job_returns_the_handler_result(stack: LocalStack) -> None:
    result = stack.run_job("release", datetime(2033, 6, 1, 12, 0, tzinfo=UTC))

    assert result["now"] == "2033-06-01T12:00:00Z"


# Lifecycle and state


def test_state_dir_round_trips_items_and_queued_messages_across_a_restart(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path / "checkout")
    state_dir = tmp_path / "state"

    # Given a stack with an item in its table and a message waiting in an unconsumed queue
    with LocalStack(root, port=0, state_dir=state_dir, engine="moto") as first:
        first.client("dynamodb").put_item(
            TableName=first.physical_id("Table"),
            Item={"pk": {"S": "kept"}, "sk": {"S": "1"}, "blob": {"B": b"\x00\x01"}},
        )
        first.client("sqs").send_message(
            QueueUrl=first.physical_id("WorkDeadLetterQueue"), MessageBody="waiting"
        )

    # When a new stack starts with the same state directory
    with LocalStack(root, port=0, state_dir=state_dir, engine="moto") as second:
        # Then both are back, in the new stack's resources
        restored = second.client("dynamodb").get_item(
            TableName=second.physical_id("Table"), Key={"pk": {"S": "kept"}, "sk": {"S": "1"}}
        )["Item"]
        messages = second.client("sqs").receive_message(
            QueueUrl=second.physical_id("WorkDeadLetterQueue"),
            WaitTimeSeconds=1,
            VisibilityTimeout=0,
        )["Messages"]
    assert restored["blob"]["B"] == b"\x00\x01"
    assert [m["Body"] for m in messages] == ["waiting"]


def test_clean_stop_without_a_state_dir_leaves_only_the_secrets_behind(tmp_path: Path) -> None:
    # Given a stack started without a state directory, with data in it
    root = copy_fixture(tmp_path / "checkout")
    before = os.environ.get("AWS_ENDPOINT_URL")
    with LocalStack(root, port=0, engine="moto") as running:
        assert discovery_path(root).exists()
        running.client("dynamodb").put_item(
            TableName=running.physical_id("Table"), Item={"pk": {"S": "gone"}, "sk": {"S": "1"}}
        )

    # When it has stopped: nothing was saved, stack.json is gone, the environment is back
    assert sorted(p.name for p in (root / ".local").iterdir()) == ["jwt-secret", "pii-key"]
    assert os.environ.get("AWS_ENDPOINT_URL") == before


def test_missing_handler_file_fails_start_naming_it(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path / "checkout")
    (root / "functions" / "worker" / "app.py").unlink()

    with pytest.raises(HandlerLoadError, match=r"WorkerFunction -> functions/worker/app\.py"):
        LocalStack(root, port=0, engine="moto").start()


def test_busy_port_fails_start_with_a_clear_message(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path / "checkout")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(LocalStackError, match=f"cannot listen on 127.0.0.1:{port}"):
            LocalStack(root, port=port, engine="moto").start()


def test_embedded_engine_refuses_a_template_whose_table_lacks_the_gsis(tmp_path: Path) -> None:
    # Given a template whose table has no gsi1/gsi2
    root = copy_fixture(tmp_path / "checkout")
    # When the stack starts on the embedded engine
    # Then it fails naming the table's keys, before serving anything
    with pytest.raises(LocalStackError, match="embedded engine serves"):
        LocalStack(root, port=0, engine="embedded").start()
    assert read_discovery(root) is None
