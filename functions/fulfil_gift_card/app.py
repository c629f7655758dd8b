"""Pays gift card rewards from their queue exactly once (see shared.services.fulfilment)."""

from __future__ import annotations

from typing import Any

from shared import wiring
from shared.domain.rewards import RewardMessage
from shared.runtime.consumer import Consumer, Delivery

# Take no new record with less time than this left: one provider call plus its lookup can
# take two HTTP timeouts. The untouched records come back after a short delay.
RESERVE_MS = 25_000

consumer = Consumer(
    "fulfil-gift-card",
    RewardMessage,
    clock=wiring.clock,
    done="reward fulfilment",
    visibility=lambda: wiring.queue_visibility("gift_card"),
    reserve_ms=RESERVE_MS,
)


def fulfil(message: RewardMessage, delivery: Delivery) -> dict[str, Any]:
    # Only the gift_card provider is built here: this function may not read the other
    # provider's secrets.
    outcome = wiring.fulfilment_service("gift_card").fulfil(message)
    return {
        "reward_id": outcome.reward_id,
        "status": outcome.status.value if outcome.status else None,
        "action": outcome.action,
    }


lambda_handler = consumer.handler(fulfil)
