"""`rewards release|rescore|reconcile|expire-reviews`, without a running stack."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from shared import cli
from shared.local import paths
from shared.local.jobs import JobFailedError, run_aws_job

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:prod-ReleaseFunction-ABC"


class FakeCloudFormation:
    def __init__(self) -> None:
        self.asked: list[dict[str, str]] = []

    def describe_stack_resource(self, **kwargs: str) -> dict[str, Any]:
        self.asked.append(kwargs)
        return {"StackResourceDetail": {"PhysicalResourceId": "prod-ReleaseFunction-ABC"}}


class FakeLambda:
    def __init__(self, payload: dict[str, Any], function_error: str | None = None) -> None:
        self.payload = payload
        self.function_error = function_error
        self.invocations: list[dict[str, Any]] = []

    def get_function_configuration(self, FunctionName: str) -> dict[str, str]:
        return {"FunctionArn": FUNCTION_ARN}

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self.payload).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_aws_job_invokes_the_stacks_function_synchronously_with_a_scheduled_event() -> None:
    cloudformation, lambda_client = FakeCloudFormation(), FakeLambda({"released": 2})

    result = run_aws_job("release", "prod", cloudformation, lambda_client)

    assert result == {"released": 2}
    assert cloudformation.asked == [{"StackName": "prod", "LogicalResourceId": "ReleaseFunction"}]
    (invocation,) = lambda_client.invocations
    assert invocation["FunctionName"] == "prod-ReleaseFunction-ABC"
    assert invocation["InvocationType"] == "RequestResponse"
    event = json.loads(invocation["Payload"])
    assert event["detail-type"] == "Scheduled Event"
    assert (event["account"], event["region"]) == ("111122223333", "eu-west-1")
    assert event["time"].endswith("Z")


def test_aws_job_whose_function_fails_is_a_job_failure() -> None:
    lambda_client = FakeLambda({"errorMessage": "table missing"}, function_error="Unhandled")

    with pytest.raises(JobFailedError, match="table missing"):
        run_aws_job("release", "prod", FakeCloudFormation(), lambda_client)


def test_job_command_without_a_running_stack_exits_1_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a checkout with no stack.json and no AWS stack configured
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    monkeypatch.delenv("REWARDS_STACK_NAME", raising=False)

    # When a job is run
    exit_code = cli.main(["release", "--now", "2030-01-01T00:00:00Z"])

    # Then it fails with one clear line and no traceback
    assert exit_code == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "no local stack is running" in error


def test_job_command_refuses_now_when_acting_on_aws(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REWARDS_STACK_NAME", "prod")

    exit_code = cli.main(["rescore", "--now", "2030-01-01T00:00:00Z"])

    assert exit_code == 1
    assert "--now is for the local stack" in capsys.readouterr().err


def test_job_command_rejects_a_time_without_z(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["reconcile", "--now", "2030-01-01T00:00:00+02:00"])

    assert exited.value.code == 2
    assert "ISO 8601" in capsys.readouterr().err
