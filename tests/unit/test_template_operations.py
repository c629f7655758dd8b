"""Operations the template promises: alarms that notify, failed runs kept, logs that expire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = load_template(ROOT / "template.yaml")["Resources"]


def _of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


FUNCTIONS = _of_type("AWS::Serverless::Function")
SCHEDULED = {
    name: f
    for name, f in FUNCTIONS.items()
    if any(e["Type"] == "Schedule" for e in f["Properties"].get("Events", {}).values())
}


def test_every_alarm_notifies_the_alarm_topic() -> None:
    for name, alarm in _of_type("AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"].get("AlarmActions"), f"{name} notifies nobody"


def test_every_dead_letter_queue_has_an_alarm() -> None:
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in _of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
    }
    dead_letter_queues = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in _of_type("AWS::SQS::Queue").values()
        if "RedrivePolicy" in q["Properties"]
    }
    assert dead_letter_queues | {"JobFailureQueue"} <= watched


def test_every_scheduled_job_keeps_its_failed_runs_and_alarms_on_errors() -> None:
    assert len(SCHEDULED) == 4
    for name, function in SCHEDULED.items():
        properties = function["Properties"]
        on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure["Destination"] == {"Fn::GetAtt": ["JobFailureQueue", "Arn"]}, name
        for event in properties["Events"].values():
            assert event["Properties"]["DeadLetterConfig"], name
        assert f"{name}ErrorsAlarm" in RESOURCES


def test_a_scheduled_job_never_overlaps_its_previous_run() -> None:
    for name, function in SCHEDULED.items():
        assert function["Properties"]["ReservedConcurrentExecutions"] == 1, name


def test_fulfilment_reserves_more_concurrency_than_its_queue_mapping_uses() -> None:
    mappings = _of_type("AWS::Lambda::EventSourceMapping")
    for mapping in mappings.values():
        function = mapping["Properties"]["FunctionName"]["Ref"]
        reserved = FUNCTIONS[function]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved >= mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"]


def test_every_function_log_group_expires() -> None:
    groups = _of_type("AWS::Logs::LogGroup")
    named = {g["Properties"].get("LogGroupName", {}).get("Fn::Sub", "") for g in groups.values()}
    for name in FUNCTIONS:
        assert f"/aws/lambda/${{{name}}}" in named, name
    assert all("RetentionInDays" in g["Properties"] for g in groups.values())


def test_the_api_is_throttled_and_access_logged() -> None:
    api = RESOURCES["HttpApi"]["Properties"]
    assert set(api["DefaultRouteSettings"]) == {"ThrottlingRateLimit", "ThrottlingBurstLimit"}
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}


def test_reconcile_mismatches_raise_an_alarm() -> None:
    metric = RESOURCES["ReconcileMismatchMetric"]["Properties"]
    assert "reconcile found mismatches" in metric["FilterPattern"]
    assert RESOURCES["ReconcileMismatchAlarm"]["Properties"]["MetricName"] == "ReconcileMismatches"
