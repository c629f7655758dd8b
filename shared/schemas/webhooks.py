"""Merchant webhooks over HTTP: registration, the list (never the secret), deliveries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shared.domain.webhooks import Webhook, WebhookDelivery
from shared.schemas.common import Identifier, Out, Strict, Timestamp


class WebhookCreate(Strict):
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="Where deliveries are POSTed: a public https URL",
        examples=["https://merchant.example.com/hooks/rewards"],
    )
    events: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Event types: referral.scored, referral.review_decided, reward.paid, "
        "reward.clawed_back, reward.fulfilment_requested, campaign.goal_reached",
    )
    program_id: Identifier | None = Field(
        default=None, description="Only this program's events (default: every program's)"
    )


class WebhookOut(Out):
    webhook_id: str
    url: str
    events: list[str]
    program_id: str | None
    created_at: Timestamp

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(
            webhook_id=webhook.webhook_id,
            url=webhook.url,
            events=webhook.events,
            program_id=webhook.program_id,
            created_at=webhook.created_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret; shown this once")

    @classmethod
    def with_secret(cls, webhook: Webhook, secret: str) -> WebhookCreated:
        return cls(**WebhookOut.of(webhook).model_dump(), secret=secret)


class WebhookSecretOut(Out):
    webhook_id: str
    secret: str = Field(description="The new signing secret; shown this once")


class DeliveryAttemptOut(Out):
    """One attempt of one event's delivery (a delivery not yet tried shows attempt 0)."""

    event_id: str
    type: str
    state: str = Field(description="pending, delivered, failed (dead-lettered) or cancelled")
    attempt: int
    status_code: int | None
    error: str | None
    at: Timestamp | None
    next_attempt_at: Timestamp | None

    @classmethod
    def rows(cls, delivery: WebhookDelivery) -> list[DeliveryAttemptOut]:
        common = {
            "event_id": delivery.event_id,
            "type": delivery.event_type,
            "state": delivery.state.value,
        }
        if not delivery.attempts:
            return [
                cls(
                    **common,
                    attempt=0,
                    status_code=None,
                    error=None,
                    at=None,
                    next_attempt_at=None,
                )
            ]
        return [
            cls(
                **common,
                attempt=a.attempt,
                status_code=a.status_code,
                error=a.error,
                at=a.at,
                next_attempt_at=a.next_attempt_at,
            )
            for a in reversed(delivery.attempts)
        ]


class WebhookPayload(Out):
    """What every delivery POSTs, signed in `Rewards-Signature`; `data` holds ids, statuses,
    amounts, decisions and reason codes only."""

    id: str = Field(description="The event id: the same fact always has the same id; dedupe on it")
    type: Literal[
        "referral.scored",
        "referral.review_decided",
        "reward.paid",
        "reward.clawed_back",
        "reward.fulfilment_requested",
        "campaign.goal_reached",
    ]
    created_at: Timestamp
    data: dict[str, Any]
