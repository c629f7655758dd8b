"""Scores referrals from the scoring queue; a message that fails is retried on its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared import wiring
from shared.runtime.consumer import Consumer, Delivery

if TYPE_CHECKING:
    from shared.messages import ScoringMessage


def scoring_message(body: str) -> ScoringMessage:
    # Imported with the first record: pydantic under it was ~80 ms of the cold import.
    from shared.messages import ScoringMessage

    return ScoringMessage.parse(body)


consumer = Consumer("scoring", scoring_message, clock=wiring.clock, done="referral scored")


def score(message: ScoringMessage, delivery: Delivery) -> dict[str, Any]:
    # Scored on the evidence up to when scoring was asked for, not when it runs: a
    # redelivered message computes the same risk and is recognised as a duplicate.
    service = wiring.scoring_service()
    risk = service.score(message.referral_id, message.trigger, delivery.sent_at)
    return {
        "referral_id": message.referral_id,
        "trigger": message.trigger,
        "qualified": risk is not None,
        "decision": risk.decision if risk else None,
        "score": str(risk.score) if risk else None,
        "model_version": risk.model_version if risk else service.model_version,
        "reasons": [r.code for r in risk.reasons] if risk else [],
    }


lambda_handler = consumer.handler(score)
