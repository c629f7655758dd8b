"""The fulfilment functions' one shape: a `Consumer` of reward messages for one kind.

Each kind's function builds only its own provider, since it may read only that
provider's secrets (the template grants each its own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.clock import Clock
from shared.runtime.consumer import Consumer, Delivery, LambdaHandler, Visibility

if TYPE_CHECKING:
    from shared.domain.rewards import RewardMessage
    from shared.services.fulfilment import FulfilmentService

# Take no new record with less time than this left: one provider call plus its lookup can
# take two HTTP timeouts. The untouched records come back after a short delay.
RESERVE_MS = 25_000


def fulfilment_handler(
    kind: str,
    *,
    service: Callable[[], FulfilmentService],
    visibility: Callable[[], Visibility],
    clock: Callable[[], Clock],
) -> LambdaHandler:
    consumer = Consumer(
        f"fulfil-{kind.replace('_', '-')}",
        reward_message,
        clock=clock,
        done="reward fulfilment",
        visibility=visibility,
        reserve_ms=RESERVE_MS,
    )

    def fulfil(message: RewardMessage, delivery: Delivery) -> dict[str, Any]:
        outcome = service().fulfil(message)
        return {
            "reward_id": outcome.reward_id,
            "status": outcome.status.value if outcome.status else None,
            "action": outcome.action,
        }

    return consumer.handler(fulfil)


def reward_message(body: str) -> RewardMessage:
    # Imported with the first record: pydantic under it was ~90 ms of the cold import.
    from shared.domain.rewards import RewardMessage

    return RewardMessage.parse(body)
