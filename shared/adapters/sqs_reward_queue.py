"""The reward kinds' fulfilment queues (gift card, cash, points) on SQS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3

from shared.domain.rewards import RewardMessage

# SQS refuses a visibility timeout above 12 hours.
MAX_VISIBILITY_S = 12 * 60 * 60


class SqsRewardQueue:
    def __init__(self, queue_urls: Mapping[str, str], client: Any | None = None) -> None:
        self._queue_urls = dict(queue_urls)
        self._client = client or boto3.client("sqs")

    def send_reward(self, kind: str, reward_id: str, referral_id: str) -> None:
        url = self._queue_urls.get(kind)
        if not url:
            raise RuntimeError(f"no fulfilment queue is configured for {kind} rewards")
        self._client.send_message(
            QueueUrl=url,
            MessageBody=RewardMessage(reward_id=reward_id, referral_id=referral_id).body(),
        )


class SqsVisibility:
    """Holds a received message back for a while, so the next attempt waits that long."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def delay(self, receipt_handle: str, seconds: float) -> None:
        timeout = max(0, min(MAX_VISIBILITY_S, round(seconds)))
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
        )
