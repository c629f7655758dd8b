"""Merchant webhooks: subscriptions, the events they receive and each delivery's attempts.

An event is published once per fact (its id is derived from the fact, so publishing the
same fact again is the same event); each subscribed webhook gets one delivery of it, tried
on the retry schedule below until the receiver answers 2xx or the schedule runs out.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import NotFound

EVENT_TYPES: tuple[str, ...] = (
    "referral.scored",
    "referral.review_decided",
    "reward.paid",
    "reward.clawed_back",
    "reward.fulfilment_requested",
    "campaign.goal_reached",
)

# Seconds to wait after a failed attempt before the next one: nine attempts in all, the
# last about 68.6 hours (2.9 days) after the first; after the ninth failure the delivery
# is dead and its message goes to the dead-letter queue, where an alarm sees it.
RETRY_DELAYS_S: tuple[float, ...] = (60, 300, 1800, 7200, 21600, 43200, 86400, 86400)
# The longest delay SQS gives one message; a longer wait is several hops of this.
MAX_QUEUE_DELAY_S = 900


class WebhookNotFound(NotFound):
    title = "Webhook not found"


class Webhook(BaseModel):
    """A merchant's subscription. The signing secret is stored sealed (see
    `shared.services.webhooks`), never in the clear, and no read route shows it."""

    model_config = ConfigDict(frozen=True)

    webhook_id: str
    url: str
    events: list[str]
    program_id: str | None = None
    created_at: datetime
    created_by: str
    sealed_secret: str
    # Bumped by each rotation: the seal of each secret is derived from it.
    secret_version: int = 1

    def wants(self, event: WebhookEvent) -> bool:
        if event.type not in self.events:
            return False
        return self.program_id is None or self.program_id == event.program_id


class WebhookEvent(BaseModel):
    """One fact a merchant may see; `data` holds only what its builder let through."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: str
    program_id: str | None = None
    created_at: datetime
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(
        cls, event_type: str, program_id: str | None, data: dict[str, Any], at: datetime
    ) -> WebhookEvent:
        """The event for a fact: the same type, program, data and time give the same id."""
        fact = json.dumps([event_type, program_id, data, at.isoformat()], sort_keys=True)
        digest = hashlib.sha256(fact.encode()).hexdigest()[:26]
        return cls(
            event_id=f"evt_{digest}",
            type=event_type,
            program_id=program_id,
            created_at=at,
            data=data,
        )

    def payload(self) -> dict[str, Any]:
        """What the receiver gets: `{id, type, created_at, data}`."""
        return {
            "id": self.event_id,
            "type": self.type,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }

    def body(self) -> bytes:
        return json.dumps(self.payload(), separators=(",", ":"), sort_keys=True).encode()

    @property
    def referral_id(self) -> str | None:
        value = self.data.get("referral_id")
        return value if isinstance(value, str) and value else None


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Every attempt of the schedule failed: the message went to the dead-letter queue.
    FAILED = "failed"
    # The webhook was deleted before the event reached it.
    CANCELLED = "cancelled"


class DeliveryAttempt(BaseModel):
    attempt: int
    at: datetime
    # None while the attempt is under way (claimed, not yet answered).
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    finished: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDelivery(BaseModel):
    """One event's delivery to one webhook, with every attempt made."""

    webhook_id: str
    event_id: str
    event_type: str
    event_created_at: datetime
    # Where the event is stored: its referral's, or (None) its program's.
    referral_id: str | None = None
    program_id: str | None = None
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    version: int = 1

    def claimed(self, attempt: int, at: datetime) -> WebhookDelivery:
        """The delivery with `attempt` under way (one claim per attempt number)."""
        return self.model_copy(
            update={
                "attempts": [*self.attempts, DeliveryAttempt(attempt=attempt, at=at)],
                "version": self.version + 1,
            }
        )

    def answered(
        self,
        *,
        status_code: int | None,
        error: str | None,
        at: datetime,
        delays: tuple[float, ...],
    ) -> WebhookDelivery:
        """The delivery after its last claimed attempt got `status_code` (or `error`)."""
        last = self.attempts[-1]
        done = DeliveryAttempt(
            attempt=last.attempt, at=last.at, status_code=status_code, error=error, finished=True
        )
        if done.succeeded:
            state = DeliveryState.DELIVERED
        else:
            delay = retry_delay(last.attempt, delays)
            if delay is None:
                state = DeliveryState.FAILED
            else:
                state = DeliveryState.PENDING
                done = done.model_copy(update={"next_attempt_at": at + timedelta(seconds=delay)})
        return self.model_copy(
            update={
                "attempts": [*self.attempts[:-1], done],
                "state": state,
                "version": self.version + 1,
            }
        )


def retry_delay(attempt: int, delays: tuple[float, ...] = RETRY_DELAYS_S) -> float | None:
    """Seconds between failed attempt `attempt` (1-based) and the next; None after the last."""
    if attempt < 1 or attempt > len(delays):
        return None
    return delays[attempt - 1]


def schedule(delays: tuple[float, ...] = RETRY_DELAYS_S) -> list[float]:
    """When each attempt is made, in seconds after the first."""
    times = [0.0]
    for delay in delays:
        times.append(times[-1] + delay)
    return times


class DeliveryOrder(BaseModel):
    """Make attempt `attempt` of one delivery, not before `due_at` (a queue message)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    webhook_id: str
    event_id: str
    event_created_at: datetime
    referral_id: str | None = None
    program_id: str | None = None
    attempt: int = Field(ge=1)
    due_at: datetime

    @classmethod
    def first(cls, delivery: WebhookDelivery, now: datetime) -> DeliveryOrder:
        return cls(
            webhook_id=delivery.webhook_id,
            event_id=delivery.event_id,
            event_created_at=delivery.event_created_at,
            referral_id=delivery.referral_id,
            program_id=delivery.program_id,
            attempt=1,
            due_at=now,
        )

    def next(self, due_at: datetime) -> DeliveryOrder:
        return self.model_copy(update={"attempt": self.attempt + 1, "due_at": due_at})
