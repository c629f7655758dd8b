"""Each fulfilment function builds only the provider of its own reward kind.

The template lets FulfilGiftCard read the Tremendous key alone and FulfilCash the PayPal
keys alone; a function that built the other kind's provider would fail on a secret it may
not read, on every message, until the message lands in the dead-letter queue.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.clock import FixedClock
from shared.domain.rewards import RewardStatus
from tests.integration.conftest import FakeContext, approved_in_functions_table, load_handler
from tests.unit.rewards.conftest import World


class MinuteContext(FakeContext):
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def queues(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from shared import wiring

    sqs = boto3.client("sqs")
    urls = {
        kind: sqs.create_queue(QueueName=f"{kind}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        for kind in ("gift_card", "cash")
    }
    monkeypatch.setenv("GIFT_CARD_QUEUE_URL", urls["gift_card"])
    monkeypatch.setenv("CASH_QUEUE_URL", urls["cash"])
    wiring.reset()
    yield urls
    wiring.reset()


def _released(urls: dict[str, str]) -> tuple[World, str]:
    """An approved referral released by the scheduled job: one message on each queue."""

    clock = FixedClock(datetime.now(UTC))
    world, referral_id = approved_in_functions_table(clock)
    load_handler("release").lambda_handler(
        {"time": (clock.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
        FakeContext(),
    )
    return world, referral_id


def _deliver(function: str, url: str, referral_id: str) -> dict[str, Any]:
    sqs = boto3.client("sqs")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    messages = [
        m
        for m in received.get("Messages", [])
        if json.loads(m["Body"])["referral_id"] == referral_id
    ]
    assert messages
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": arn["QueueArn"],
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]
    response: dict[str, Any] = load_handler(function).lambda_handler(
        {"Records": records}, MinuteContext()
    )
    return response


def _unreadable(prefix: str) -> str:
    """A parameter name no one has stored: reading it fails, as a parameter outside the
    function's policy does."""
    return f"/{prefix}-{uuid.uuid4().hex[:8]}/not-readable"


def test_gift_cards_are_paid_while_the_paypal_secrets_cannot_be_read(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given cash is paid through PayPal, whose secrets the gift-card function may not read
    monkeypatch.setenv("GIFT_CARD_PROVIDER", "sandbox")
    monkeypatch.setenv("CASH_PROVIDER", "paypal")
    monkeypatch.setenv("PAYPAL_CLIENT_ID_PARAMETER", _unreadable("paypal-id"))
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET_PARAMETER", _unreadable("paypal-secret"))
    world, referral_id = _released(queues)

    # When the gift-card function takes its message
    response = _deliver("fulfil_gift_card", queues["gift_card"], referral_id)

    # Then the gift card is paid, and no message is sent back to the queue
    assert response == {"batchItemFailures": []}
    gift_cards = [r for r in world.rewards(referral_id) if r.kind == "gift_card"]
    assert gift_cards and {r.status for r in gift_cards} == {RewardStatus.CONFIRMED}


def test_cash_is_paid_while_the_tremendous_key_cannot_be_read(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given gift cards are paid through Tremendous, whose key the cash function may not read
    monkeypatch.setenv("GIFT_CARD_PROVIDER", "tremendous")
    monkeypatch.setenv("CASH_PROVIDER", "sandbox")
    monkeypatch.setenv("TREMENDOUS_API_KEY_PARAMETER", _unreadable("tremendous-key"))
    world, referral_id = _released(queues)

    # When the cash function takes its message
    response = _deliver("fulfil_cash", queues["cash"], referral_id)

    # Then the cash reward is paid (the sandbox confirms it on the next look-up)
    assert response == {"batchItemFailures": []}
    cash = [r for r in world.rewards(referral_id) if r.kind == "cash"]
    assert cash and {r.status for r in cash} <= {RewardStatus.SENT, RewardStatus.CONFIRMED}
