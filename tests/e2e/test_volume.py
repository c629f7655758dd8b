"""Eight clients at once, each recording referrals and purchases over HTTP and reading
each referral back until it is scored: nothing fails, nothing is lost."""

from __future__ import annotations

import json
from typing import Any

from shared.local.load import run_load, tokens_for
from shared.local.stack import LocalStack
from tests.e2e.conftest import ROOT

CLIENTS = 8
REFERRALS_PER_CLIENT = 100


def dead_letter_queue_urls(stack: LocalStack) -> list[str]:
    """Every queue some queue of the stack redrives to."""
    assert stack.stack is not None
    sqs = stack.client("sqs")
    urls = stack.stack.physical_ids_of_type("AWS::SQS::Queue").values()
    arns = {}
    targets = set()
    for url in urls:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"]
        )["Attributes"]
        arns[attributes["QueueArn"]] = url
        if "RedrivePolicy" in attributes:
            targets.add(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"])
    return sorted(arns[arn] for arn in targets)


def messages_in(stack: LocalStack, url: str) -> int:
    attributes: dict[str, Any] = stack.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_eight_concurrent_clients_have_every_referral_recorded_and_scored(
    stack: LocalStack,
) -> None:
    # Given the running stack and its dead-letter queues
    dead_letter_queues = dead_letter_queue_urls(stack)
    assert dead_letter_queues

    # When 8 clients each record 100 referrals with a purchase and read each until scored
    result = run_load(
        stack.url,
        tokens_for(ROOT),
        clients=CLIENTS,
        referrals_per_client=REFERRALS_PER_CLIENT,
        max_seconds=600,
    )
    stack.drain(timeout=60)

    # Then every answer was 2xx, every referral read back with its purchase and a score
    assert result.errors == []
    assert all(200 <= status < 300 for status in result.statuses), result.statuses
    assert result.count == CLIENTS * REFERRALS_PER_CLIENT
    assert result.read_back_failures == []
    # And no message was given up on
    assert {url: messages_in(stack, url) for url in dead_letter_queues} == dict.fromkeys(
        dead_letter_queues, 0
    )
