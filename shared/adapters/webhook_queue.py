"""The webhook queue: where the money path's notifications are enqueued, and where the
delivery function schedules each attempt (SQS in AWS and on the local stack, memory in
tests).

`publish` sends one message and returns; it never raises, since a score, a decision or a
payment that committed must stand whatever happens to its notification. A delay beyond
SQS's 15 minutes is reached in hops: the message comes back early, finds its attempt not
yet due and is sent again with the time left.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.webhooks import MAX_QUEUE_DELAY_S, DeliveryOrder, WebhookEvent
from shared.messages import WebhookMessage

logger = logging.getLogger(__name__)


class SqsWebhookQueue:
    def __init__(
        self, queue_url: str, dead_letter_url: str | None = None, client: Any | None = None
    ) -> None:
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_url
        self._given = client
        self._built: Any | None = None

    @property
    def _client(self) -> Any:
        if self._given is not None:
            return self._given
        if self._built is None:
            import boto3

            self._built = boto3.client("sqs")
        return self._built

    def publish(
        self, event_type: str, program_id: str | None, data: dict[str, Any], at: datetime
    ) -> None:
        try:
            event = WebhookEvent.of(event_type, program_id, data, at)
            body = WebhookMessage(event=event).body()
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=body)
        except Exception:
            logger.exception("could not enqueue a %s notification", event_type)

    def schedule(self, order: DeliveryOrder, delay_s: float) -> None:
        delay = max(0, min(MAX_QUEUE_DELAY_S, math.ceil(delay_s)))
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=WebhookMessage(order=order).body(),
            DelaySeconds=delay,
        )

    def dead_letter(self, order: DeliveryOrder) -> None:
        if not self._dead_letter_url:
            raise RuntimeError("the webhook dead-letter queue's URL is not set")
        self._client.send_message(
            QueueUrl=self._dead_letter_url, MessageBody=WebhookMessage(order=order).body()
        )


@dataclass
class MemoryWebhookQueue:
    """Published events, scheduled attempts and dead letters, in order."""

    events: list[WebhookEvent] = field(default_factory=list)
    scheduled: list[tuple[DeliveryOrder, float]] = field(default_factory=list)
    dead: list[DeliveryOrder] = field(default_factory=list)

    def publish(
        self, event_type: str, program_id: str | None, data: dict[str, Any], at: datetime
    ) -> None:
        self.events.append(WebhookEvent.of(event_type, program_id, data, at))

    def schedule(self, order: DeliveryOrder, delay_s: float) -> None:
        self.scheduled.append((order, delay_s))

    def dead_letter(self, order: DeliveryOrder) -> None:
        self.dead.append(order)

    def of_type(self, event_type: str) -> list[WebhookEvent]:
        return [e for e in self.events if e.type == event_type]
