"""Scores referrals from the scoring queue; a message that fails is retried on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from shared import wiring
from shared.adapters.logging import make_logger

logger = make_logger("scoring")
processor = BatchProcessor(event_type=EventType.SQS)


class ScoringMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referral_id: str = Field(min_length=1)
    trigger: str = Field(min_length=1)


def _sent_at(record: SQSRecord) -> datetime:
    # When the scoring was asked for, not when it runs: a redelivered message sees the same
    # evidence cut-off, so it computes the same risk and is recognised as a duplicate.
    sent = record.attributes.get("SentTimestamp")
    if sent:
        return datetime.fromtimestamp(int(sent) / 1000, tz=UTC)
    return datetime.now(UTC)


def record_handler(record: SQSRecord) -> None:
    message = ScoringMessage.model_validate_json(record.body)
    service = wiring.scoring_service()
    risk = service.score(message.referral_id, message.trigger, _sent_at(record))
    logger.info(
        "referral scored" if risk is not None else "referral not qualified; nothing to score",
        extra={
            "referral_id": message.referral_id,
            "trigger": message.trigger,
            "decision": risk.decision if risk else None,
            "score": str(risk.score) if risk else None,
            "model_version": risk.model_version if risk else service.model_version,
            "reasons": [r.code for r in risk.reasons] if risk else [],
        },
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    if wiring.model() is None:
        logger.warning("no trained model found; deciding on rules only (rules-1)")
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
