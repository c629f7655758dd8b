"""On DynamoDB (moto), through the deployed wiring and handlers: the writer functions leave
re-score marks in the table and the hourly handler takes them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import wiring
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from tests.integration.conftest import FakeContext, create_table, load_handler
from tests.support import advocate_body, program_body, purchase_body, referral_body

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def own_table(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Marks are table-wide: a table of its own keeps other tests' marks out.
    name = f"marks-{uuid.uuid4().hex[:8]}"
    create_table(name)
    monkeypatch.setenv("TABLE_NAME", name)
    wiring.reset()
    yield
    monkeypatch.undo()
    wiring.reset()


def _hourly(at: datetime) -> dict[str, Any]:
    handler = load_handler("rescore")
    moment = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    report: dict[str, Any] = handler.lambda_handler({"time": moment, "detail": {}}, FakeContext())
    return report


@pytest.mark.usefixtures("own_table")
def test_the_hourly_handler_rescores_only_the_referral_a_new_referral_touched() -> None:
    # Given a scored holding referral, and a first hourly run that took the scoring's marks
    program = wiring.program_service().create(
        ProgramCreate.model_validate(program_body()).command()
    )
    enrolment = wiring.advocate_service().enrol(
        program.program_id, AdvocateEnrol.model_validate(advocate_body()).command()
    )
    code = enrolment.advocate.referral_code
    body = referral_body(program.program_id, code)
    first = wiring.referral_service().create(ReferralCreate.model_validate(body).command())
    wiring.event_service().record(
        first.referral_id, EventCreate.model_validate(purchase_body()).command()
    )
    record = json.dumps({"referral_id": first.referral_id, "trigger": "event:o1"})
    load_handler("scoring").lambda_handler({"Records": [_sqs_record(record)]}, FakeContext())
    now = datetime.now(UTC)
    _hourly(now + timedelta(hours=1))
    # When the same advocate refers someone else (evidence under the advocate's partition)
    body = referral_body(program.program_id, code)
    wiring.referral_service().create(ReferralCreate.model_validate(body).command())
    # Then the next run examines the first referral only, and the one after nothing
    assert _hourly(now + timedelta(hours=2))["examined"] == 1
    assert _hourly(now + timedelta(hours=3))["examined"] == 0


def _sqs_record(body: str) -> dict[str, Any]:
    sent = int(datetime.now(UTC).timestamp() * 1000)
    return {
        "messageId": "m1",
        "receiptHandle": "rh-m1",
        "body": body,
        "attributes": {"SentTimestamp": str(sent), "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:scoring",
        "awsRegion": "us-east-1",
    }
