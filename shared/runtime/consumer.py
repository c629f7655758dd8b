"""A queue function: each record parsed into the queue's one message model and handled on
its own, so one failure returns only its own record (Powertools partial batch responses).

A record whose work says `Deferred` has its visibility set to the wait, and comes back
only after it; a malformed record fails every time and ends in the dead-letter queue,
where the alarm sees it. With less than `reserve_ms` left the consumer takes no new
record: it is deferred a few seconds instead of being cut off mid-payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.logging import make_logger
from shared.clock import Clock
from shared.errors import Deferred

OUT_OF_TIME_RETRY_S = 5.0

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class Visibility(Protocol):
    def delay(self, receipt_handle: str, seconds: float) -> None: ...


M = TypeVar("M")


@dataclass(frozen=True)
class Delivery:
    """Facts about one delivery that are not in the message."""

    message_id: str
    # When the message was sent: a redelivery carries the same time.
    sent_at: datetime


class Consumer(Generic[M]):
    """`Consumer("scoring", ScoringMessage.parse, ...).handler(work)`: each record's body
    goes through `parse` (the queue's one message model; a function, so the model's
    module is imported with the first record, not at cold start), then
    `work(message, delivery)` returns what to log for the record (a dict) or raises."""

    def __init__(
        self,
        name: str,
        parse: Callable[[str], M],
        *,
        clock: Callable[[], Clock],
        done: str,
        visibility: Callable[[], Visibility] | None = None,
        reserve_ms: int = 0,
    ) -> None:
        self.name = name
        self.logger = make_logger(name)
        self._parse = parse
        self._clock = clock
        self._done = done
        self._visibility = visibility
        self._reserve_ms = reserve_ms
        self._processor = BatchProcessor(
            event_type=EventType.SQS, raise_on_entire_batch_failure=False
        )

    def handler(self, work: Callable[[M, Delivery], dict[str, Any]]) -> LambdaHandler:
        @self.logger.inject_lambda_context(clear_state=True)
        def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            def one(record: SQSRecord) -> dict[str, Any]:
                return self._one(record, context, work)

            return dict(
                process_partial_response(
                    event=event, record_handler=one, processor=self._processor, context=context
                )
            )

        return lambda_handler

    def _one(
        self,
        record: SQSRecord,
        context: LambdaContext,
        work: Callable[[M, Delivery], dict[str, Any]],
    ) -> dict[str, Any]:
        try:
            if context.get_remaining_time_in_millis() < self._reserve_ms:
                raise Deferred(OUT_OF_TIME_RETRY_S, "not enough time left in this invocation")
            message = self._parse(record.body)
            outcome = work(message, Delivery(record.message_id, self._sent_at(record)))
        except Deferred as exc:
            self._defer(record, exc)
            raise
        self.logger.info(self._done, extra=outcome)
        return outcome

    def _defer(self, record: SQSRecord, exc: Deferred) -> None:
        self.logger.warning(
            f"{self._done} deferred",
            extra={"message_id": record.message_id, "delay_s": exc.delay_seconds},
        )
        if self._visibility is None:
            return
        try:
            self._visibility().delay(record.receipt_handle, exc.delay_seconds)
        except Exception:
            self.logger.exception("could not set the retry delay; the queue default applies")

    def _sent_at(self, record: SQSRecord) -> datetime:
        sent = record.attributes.get("SentTimestamp")
        if sent:
            return datetime.fromtimestamp(int(sent) / 1000, tz=UTC)
        return self._clock().now()
