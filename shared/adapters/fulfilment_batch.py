"""Lambda glue for the fulfilment queues: Powertools batch processing, partial failures.

Each record is one ledger entry to pay. A record that must wait (429, unknown outcome,
misconfiguration) has its visibility set to the wait and is reported as a batch item
failure, so only it comes back, and only after that delay. A malformed message fails every
time and ends in the dead-letter queue, where the alarm sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

if TYPE_CHECKING:
    from shared.adapters.sqs_reward_queue import SqsVisibility
    from shared.services.fulfilment import FulfilmentService

# Take no new record with less time than this left: one provider call plus its lookup can
# take two HTTP timeouts. The untouched records come back after a short delay.
RESERVE_MS = 25_000
OUT_OF_TIME_RETRY_S = 5.0

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def fulfilment_handler(
    kind: str,
    logger: Logger,
    service: Callable[[], FulfilmentService],
    visibility: Callable[[str], SqsVisibility],
) -> Handler:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Imported on the first batch, with the service: with boto3 under them they were
        # about 100 ms of the function's cold import.
        from shared.domain.rewards import RewardMessage
        from shared.services.fulfilment import RetryLater

        def record_handler(record: SQSRecord) -> dict[str, Any]:
            try:
                if context.get_remaining_time_in_millis() < RESERVE_MS:
                    raise RetryLater(OUT_OF_TIME_RETRY_S, "not enough time left in this invocation")
                message = RewardMessage.parse(record.body)
                outcome = service().fulfil(message)
            except RetryLater as exc:
                logger.warning(
                    "reward fulfilment deferred",
                    extra={"message_id": record.message_id, "delay_s": exc.delay_seconds},
                )
                try:
                    visibility(kind).delay(record.receipt_handle, exc.delay_seconds)
                except Exception:
                    logger.exception("could not set the retry delay; the queue default applies")
                raise
            logger.info(
                "reward fulfilment",
                extra={
                    "reward_id": outcome.reward_id,
                    "status": outcome.status.value if outcome.status else None,
                    "action": outcome.action,
                },
            )
            return {"reward_id": outcome.reward_id, "action": outcome.action}

        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)

    return handler
