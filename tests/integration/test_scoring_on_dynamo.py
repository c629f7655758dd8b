"""Scoring on DynamoDB (moto): the same history scores the same as on the in-memory table,
and the queue and schedule handlers drive the service."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import wiring
from shared.backtest.ops import parse_lines
from shared.backtest.replay import Backtest
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.storage.dynamo_table import DynamoTable
from tests.integration.conftest import FakeContext, create_table, load_handler
from tests.support import advocate_body, program_body, purchase_body, referral_body
from tests.unit.test_backtest import history

pytestmark = pytest.mark.usefixtures("aws")


def _fresh_table() -> str:
    # Status partitions are table-wide: a table of its own keeps other tests' data out.
    name = f"scoring-{uuid.uuid4().hex[:8]}"
    create_table(name)
    return name


def test_a_history_scores_the_same_on_dynamodb_as_in_memory() -> None:
    ops = list(parse_lines(json.dumps(op) for op in history()))
    in_memory = Backtest().run(ops)
    on_dynamo = Backtest(table=DynamoTable(_fresh_table())).run(ops)
    assert on_dynamo.lines == in_memory.lines
    assert any(line["risk"] and line["risk"]["reasons"] for line in on_dynamo.lines)


@pytest.fixture
def live(aws: dict[str, str]) -> Any:
    wiring.reset()
    return wiring


def _qualified_referral(live: Any, **referee: Any) -> str:
    program = live.program_service().create(ProgramCreate.model_validate(program_body()).command())
    enrolment = live.advocate_service().enrol(
        program.program_id, AdvocateEnrol.model_validate(advocate_body()).command()
    )
    body = referral_body(program.program_id, enrolment.advocate.referral_code, **referee)
    referral = live.referral_service().create(ReferralCreate.model_validate(body).command())
    live.event_service().record(
        referral.referral_id, EventCreate.model_validate(purchase_body()).command()
    )
    return referral.referral_id


def _sqs_record(body: str, message_id: str) -> dict[str, Any]:
    sent = int(datetime.now(UTC).timestamp() * 1000)
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"SentTimestamp": str(sent), "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:scoring",
        "awsRegion": "us-east-1",
    }


def test_the_queue_handler_scores_and_reports_only_failed_messages(live: Any) -> None:
    referral_id = _qualified_referral(live)
    good = json.dumps({"referral_id": referral_id, "trigger": "event:o1"})
    event = {
        "Records": [
            _sqs_record(good, "m-good"),
            _sqs_record("{not json", "m-bad"),
            _sqs_record(json.dumps({"referral_id": "ref_missing", "trigger": "x"}), "m-gone"),
        ]
    }
    handler = load_handler("scoring")
    response = handler.lambda_handler(event, FakeContext())
    failed = sorted(item["itemIdentifier"] for item in response["batchItemFailures"])
    assert failed == ["m-bad", "m-gone"]
    referral = live.referral_service().get(referral_id)
    assert referral.status.value == "holding"
    assert referral.risk is not None and referral.risk.model_version


def test_a_redelivered_message_writes_nothing_more(live: Any) -> None:
    referral_id = _qualified_referral(live)
    record = _sqs_record(json.dumps({"referral_id": referral_id, "trigger": "event:o1"}), "m1")
    handler = load_handler("scoring")
    handler.lambda_handler({"Records": [record]}, FakeContext())
    first = live.referral_service().get(referral_id)
    handler.lambda_handler({"Records": [record]}, FakeContext())
    assert live.referral_service().get(referral_id) == first


def test_the_hourly_handler_rescores_and_publishes_drift(
    live: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _qualified_referral(live)
    handler = load_handler("rescore")
    moment = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = handler.lambda_handler({"time": moment, "detail": {}}, FakeContext())
    assert report["examined"] >= 1
    assert report["as_of"].startswith(moment[:16])
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert any("RescoreExamined" in blob for blob in emitted)
