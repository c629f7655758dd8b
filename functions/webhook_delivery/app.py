"""Delivers merchant webhooks from the webhook queue: fans each event out to its
subscribers, then makes each signed attempt on the retry schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared import wiring
from shared.runtime.consumer import Consumer, Delivery

if TYPE_CHECKING:
    from shared.messages import WebhookMessage


def webhook_message(body: str) -> WebhookMessage:
    # Imported with the first record, like the other queue functions' message models.
    from shared.messages import WebhookMessage

    return WebhookMessage.parse(body)


consumer = Consumer("webhook-delivery", webhook_message, clock=wiring.clock, done="webhook")


def deliver(message: WebhookMessage, delivery: Delivery) -> dict[str, Any]:
    outcome = wiring.webhook_dispatcher().handle(message.event, message.order)
    return {
        "action": outcome.action,
        "event_id": outcome.event_id,
        "attempt": outcome.attempt,
        "deliveries": outcome.deliveries,
        "status_code": outcome.status_code,
    }


lambda_handler = consumer.handler(deliver)
