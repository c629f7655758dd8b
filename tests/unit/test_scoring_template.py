"""The scoring and re-scoring functions as template.yaml declares them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load_template(ROOT / "template.yaml")["Resources"]
TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
}


def _props(name: str) -> dict[str, Any]:
    return RESOURCES[name]["Properties"]


def _actions(name: str) -> set[str]:
    return {
        action
        for policy in _props(name)["Policies"]
        for statement in policy["Statement"]
        for action in statement["Action"]
    }


def test_the_queue_outlasts_six_scoring_timeouts() -> None:
    visibility = _props("ScoringQueue")["VisibilityTimeout"]
    assert visibility >= 6 * _props("ScoringFunction")["Timeout"]


def test_scoring_reads_the_queue_in_batches_reporting_each_failure() -> None:
    [event] = _props("ScoringFunction")["Events"].values()
    properties = event["Properties"]
    assert event["Type"] == "SQS"
    assert properties["Queue"] == {"Fn::GetAtt": ["ScoringQueue", "Arn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= properties["BatchSize"] <= 10
    assert properties["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_rescoring_runs_every_hour() -> None:
    [event] = _props("RescoreFunction")["Events"].values()
    assert (event["Type"], event["Properties"]["Schedule"]) == ("Schedule", "rate(1 hour)")


def test_both_hold_only_the_table_actions_they_use_the_key_parameter_and_webhook_sends() -> None:
    for name in ("ScoringFunction", "RescoreFunction"):
        assert _actions(name) == TABLE_ACTIONS | {"ssm:GetParameter", "sqs:SendMessage"}, name
        sends = [
            s["Resource"]
            for policy in _props(name)["Policies"]
            for s in policy["Statement"]
            if "sqs:SendMessage" in s["Action"]
        ]
        assert sends == [{"Fn::GetAtt": ["WebhookQueue", "Arn"]}], name
