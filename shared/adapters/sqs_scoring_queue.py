"""The scoring queue on SQS."""

from __future__ import annotations

from typing import Any

import boto3

from shared.messages import ScoringMessage


class SqsScoringQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def request_scoring(self, referral_id: str, trigger: str) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=ScoringMessage(referral_id=referral_id, trigger=trigger).body(),
        )
