"""The webhook delivery function on moto: its queue and dead-letter queue as template.yaml
declares them, a receiver on 127.0.0.1, and the queue delivering one attempt twice."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from shared import wiring
from shared.domain.webhook_signature import HEADER, verify_signature
from shared.local.pollers import sqs_event
from tests.integration.conftest import FakeContext, load_handler, template_resource


class _Receiver(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.seen.append((self.path, dict(self.headers), body))
        self.send_response(500 if self.path.startswith("/down") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def queues(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    sqs = boto3.client("sqs")
    suffix = uuid.uuid4().hex[:8]
    dead = sqs.create_queue(QueueName=f"webhook-dlq-{suffix}")["QueueUrl"]
    props = template_resource("WebhookQueue")
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    redrive = {**props["RedrivePolicy"], "deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"]}
    queue = sqs.create_queue(
        QueueName=f"webhooks-{suffix}",
        Attributes={
            "VisibilityTimeout": str(props["VisibilityTimeout"]),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WEBHOOK_DEAD_LETTER_QUEUE_URL", dead)
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK_HTTP", "true")
    monkeypatch.setenv("WEBHOOK_RETRY_DELAYS", "0")
    wiring.reset()
    yield {"queue": queue, "dead": dead}
    # The table outlives the test: its webhooks must not receive the next test's events.
    for webhook in wiring.webhook_service().all():
        wiring.webhook_service().delete(webhook.webhook_id)
    wiring.reset()


def _receive(url: str) -> list[dict[str, Any]]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )
    return list(answer.get("Messages", []))


def _deliver(messages: list[dict[str, Any]]) -> dict[str, Any]:
    handler = load_handler("webhook_delivery").lambda_handler
    result: dict[str, Any] = handler(
        sqs_event(messages, "arn:aws:sqs:us-east-1:1:q", "us-east-1"), FakeContext()
    )
    return result


def _published(receiver: str, path: str) -> tuple[str, str]:
    webhook, secret = wiring.webhook_service().register(
        f"{receiver}{path}", ["reward.paid"], None, "admin-1"
    )
    data = {"reward_id": f"rwd_{uuid.uuid4().hex[:8]}", "status": "confirmed"}
    wiring.webhook_outbox().publish("reward.paid", None, data, datetime.now(UTC))
    return webhook.webhook_id, secret


def test_a_duplicate_queue_delivery_of_one_attempt_posts_once(
    queues: dict[str, str], receiver: str
) -> None:
    # Given an event fanned out to one webhook
    webhook_id, secret = _published(receiver, f"/ok/{uuid.uuid4().hex[:6]}")
    assert _deliver(_receive(queues["queue"])) == {"batchItemFailures": []}
    [attempt] = _receive(queues["queue"])

    # When the queue delivers the attempt's message twice
    assert _deliver([attempt]) == {"batchItemFailures": []}
    assert _deliver([attempt]) == {"batchItemFailures": []}

    # Then the receiver got it once, signed, and the delivery shows one attempt
    [(_, headers, body)] = _Receiver.seen
    assert verify_signature(secret, headers[HEADER], body, datetime.now(UTC))
    [delivery] = wiring.webhook_service().deliveries(webhook_id)
    assert [(a.attempt, a.status_code) for a in delivery.attempts] == [(1, 200)]


def test_the_last_failed_attempt_goes_to_the_dead_letter_queue(
    queues: dict[str, str], receiver: str
) -> None:
    webhook_id, _ = _published(receiver, "/down")
    _deliver(_receive(queues["queue"]))

    for _ in range(2):  # attempt 1 fails and schedules attempt 2, which fails for good
        _deliver(_receive(queues["queue"]))

    [dead] = _receive(queues["dead"])
    assert json.loads(dead["Body"])["order"]["webhook_id"] == webhook_id
    assert _receive(queues["queue"]) == [] and len(_Receiver.seen) == 2


def test_a_malformed_message_fails_on_its_own(queues: dict[str, str]) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queues["queue"], MessageBody='{"neither": true}')
    [message] = _receive(queues["queue"])

    result = _deliver([message])

    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
