"""The SQS glue: partial batch failures, retry delays through message visibility."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from shared.adapters.fulfilment_batch import RESERVE_MS, fulfilment_handler
from shared.domain.rewards import RewardMessage, RewardStatus
from shared.services.fulfilment import FulfilmentOutcome, RetryLater


class Context:
    function_name = "fulfil"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fulfil"
    aws_request_id = "req"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Service:
    def __init__(self, deferred: dict[str, float]) -> None:
        self.deferred = deferred
        self.paid: list[str] = []

    def fulfil(self, message: RewardMessage) -> FulfilmentOutcome:
        if message.reward_id in self.deferred:
            raise RetryLater(self.deferred[message.reward_id], "rate limited")
        self.paid.append(message.reward_id)
        return FulfilmentOutcome(message.reward_id, RewardStatus.CONFIRMED, "paid")


class Visibility:
    def __init__(self) -> None:
        self.delays: list[tuple[str, float]] = []

    def delay(self, receipt_handle: str, seconds: float) -> None:
        self.delays.append((receipt_handle, seconds))


def _event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"h{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:gift",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def _body(reward_id: str) -> str:
    return RewardMessage(reward_id, reward_id.rsplit("-", 1)[0]).body()


def _handler(service: Service, visibility: Visibility) -> Any:
    return fulfilment_handler(
        "gift_card", Logger(service="test"), lambda: service, lambda kind: visibility
    )


def test_only_the_deferred_record_is_reported_and_it_waits_the_providers_delay() -> None:
    service, visibility = Service({"ref_b-advocate": 7.0}), Visibility()

    response = _handler(service, visibility)(
        _event(_body("ref_a-advocate"), _body("ref_b-advocate"), _body("ref_c-advocate")),
        Context(),
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert visibility.delays == [("h1", 7.0)]
    assert service.paid == ["ref_a-advocate", "ref_c-advocate"]


def test_a_malformed_message_fails_so_it_ends_in_the_dead_letter_queue() -> None:
    service, visibility = Service({}), Visibility()

    response = _handler(service, visibility)(
        _event(json.dumps({"nothing": 1}), _body("ref_a-advocate")), Context()
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert service.paid == ["ref_a-advocate"]


def test_records_are_left_for_later_when_the_invocation_runs_out_of_time() -> None:
    service, visibility = Service({}), Visibility()

    response = _handler(service, visibility)(
        _event(_body("ref_a-advocate")), Context(remaining_ms=RESERVE_MS - 1)
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert service.paid == []
    assert visibility.delays and visibility.delays[0][0] == "h0"
