"""Queues that deliver the way SQS does: at least once, with visibility timeouts, receive
counts and a dead-letter queue after `max_receives`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.clock import Clock
from shared.services.fulfilment import RetryLater

_ids = itertools.count(1)


@dataclass
class Message:
    message_id: int
    body: tuple[Any, ...]
    sent_at: datetime
    visible_at: datetime
    receives: int = 0
    outcome: str | None = None  # processed | dlq
    reason: str | None = None


@dataclass
class SimulatedQueue:
    """One SQS queue with its redrive policy (template.yaml's figures)."""

    name: str
    clock: Clock
    visibility: timedelta
    max_receives: int
    messages: list[Message] = field(default_factory=list)

    def put(self, *body: Any) -> None:
        now = self.clock.now()
        self.messages.append(Message(next(_ids), body, sent_at=now, visible_at=now))

    @property
    def in_flight(self) -> list[Message]:
        return [m for m in self.messages if m.outcome is None]

    @property
    def dead_letters(self) -> list[Message]:
        return [m for m in self.messages if m.outcome == "dlq"]

    def deliver(self, handle: Callable[[Message], None], after_each: Callable[[], None]) -> int:
        """Receive every visible message once, oldest first, as one poller would."""
        delivered = 0
        now = self.clock.now()
        for message in [m for m in self.in_flight if m.visible_at <= now]:
            message.receives += 1
            delivered += 1
            try:
                handle(message)
            except RetryLater as exc:
                self._fail(message, now + timedelta(seconds=exc.delay_seconds), repr(exc))
            except BaseException as exc:  # whatever killed the worker
                if isinstance(exc, KeyboardInterrupt | AssertionError):
                    raise
                self._fail(message, now + self.visibility, repr(exc))
            else:
                message.outcome = "processed"
            after_each()
        return delivered

    def _fail(self, message: Message, visible_at: datetime, reason: str) -> None:
        message.reason = reason
        if message.receives >= self.max_receives:
            message.outcome = "dlq"
        else:
            message.visible_at = visible_at


class ScoringQueueOnSqs:
    """The scoring queue port over a simulated queue (maxReceiveCount 5, visibility 120 s)."""

    def __init__(self, clock: Clock) -> None:
        self.queue = SimulatedQueue("scoring", clock, timedelta(seconds=120), max_receives=5)

    def request_scoring(self, referral_id: str, trigger: str) -> None:
        self.queue.put(referral_id, trigger)


class RewardQueuesOnSqs:
    """The reward queue port: one queue per kind (maxReceiveCount 10, visibility 360 s)."""

    def __init__(self, clock: Clock) -> None:
        self.queues = {
            kind: SimulatedQueue(kind, clock, timedelta(seconds=360), max_receives=10)
            for kind in ("gift_card", "cash", "charity_donation", "points")
        }

    def send_reward(self, kind: str, reward_id: str, referral_id: str) -> None:
        self.queues[kind].put(reward_id, referral_id)
