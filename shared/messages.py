"""The scoring queue's one message model: its producer writes it, its consumer reads it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
