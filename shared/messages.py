"""The queues' message models: each queue's producer writes its one model, its consumer
reads it (the scoring queue's and the webhook queue's)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.webhooks import DeliveryOrder, WebhookEvent


class ScoringMessage(BaseModel):
    """Score this referral; `trigger` says what asked (a purchase, a refund, a re-score)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    referral_id: str = Field(min_length=1)
    trigger: str = Field(min_length=1)

    def body(self) -> str:
        return self.model_dump_json()

    @classmethod
    def parse(cls, body: str) -> ScoringMessage:
        return cls.model_validate_json(body)


class WebhookMessage(BaseModel):
    """The webhook queue's one message: an event to fan out to its subscribers, or one
    delivery attempt (`order`). Exactly one of the two is set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: WebhookEvent | None = None
    order: DeliveryOrder | None = None

    def body(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def parse(cls, body: str) -> WebhookMessage:
        message = cls.model_validate_json(body)
        if (message.event is None) == (message.order is None):
            raise ValueError("a webhook message carries an event or an order")
        return message
