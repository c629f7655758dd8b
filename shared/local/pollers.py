"""SQS pollers that stand in for the (disabled) event-source mappings.

Like Lambda's poller they receive batches, call the function with an SQS event, delete
what succeeded and leave failures to be received again; the queue's own redrive policy
(enforced by moto on receive) moves a message to its DLQ after maxReceiveCount receives.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from shared.local.moto_stack import Aws, QueueMapping

logger = logging.getLogger(__name__)

LONG_POLL_S = 1
# The template's batching window (1 s for scoring) is how long Lambda may wait to fill a
# batch. Locally it is capped: with 8 clients each waiting for its own referral to be
# scored, batches never fill, so every referral waited the whole second and the stack
# topped out at ~2.3 referrals/s. Handlers still see batches of 1..BatchSize.
BATCHING_WINDOW_CAP_S = 0.05
# Lambda retries after the visibility timeout (minutes in the template); locally a failed
# message comes back after a second so retries and redrive are observable.
FAILURE_BACKOFF_S = 1
DEFAULT_CONCURRENCY = 2
# moto runs in its own process, so pollers mostly wait on its answers rather than on
# this process's CPU: the template's MaximumConcurrency (5 for scoring) is honoured up to
# this cap. Two scoring pollers held 8 clients to ~2 referrals/s.
CONCURRENCY_CAP = 8

Invoke = Callable[[str, dict[str, Any]], Any]


def poller_count(mapping: QueueMapping) -> int:
    return max(1, min(mapping.maximum_concurrency or DEFAULT_CONCURRENCY, CONCURRENCY_CAP))


def _message_attributes(raw: dict[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, attribute in raw.items():
        binary = attribute.get("BinaryValue")
        converted[name] = {
            "stringValue": attribute.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": attribute.get("StringListValues", []),
            "binaryListValues": [
                base64.b64encode(v).decode() for v in attribute.get("BinaryListValues", [])
            ],
            "dataType": attribute.get("DataType"),
        }
    return converted


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS poller delivers for one batch."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m.get("Body", ""),
                "attributes": dict(m.get("Attributes") or {}),
                "messageAttributes": _message_attributes(m.get("MessageAttributes") or {}),
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def failed_message_ids(result: Any, batch_ids: list[str], partial: bool) -> set[str]:
    """Which messages of a successful invocation failed.

    With ReportBatchItemFailures a malformed response fails the whole batch, as on AWS.
    """
    if not partial or result is None:
        return set()
    if not isinstance(result, dict):
        return set(batch_ids)
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    ids = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            return set(batch_ids)
        ids.add(identifier)
    return ids


class QueuePollers:
    """One group of poller threads per queue mapping, plus `drain` for tests."""

    def __init__(
        self,
        aws: Aws,
        mappings: list[QueueMapping],
        invoke: Invoke,
        batching_window_cap_s: float = BATCHING_WINDOW_CAP_S,
    ) -> None:
        self._aws = aws
        self._batching_window_cap_s = batching_window_cap_s
        self._mappings = mappings
        self._invoke = invoke
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        self._batches = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        for mapping in self._mappings:
            for index in range(poller_count(mapping)):
                thread = threading.Thread(
                    target=self._poll,
                    args=(mapping,),
                    name=f"poller-{mapping.function}-{index}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def request_stop(self) -> None:
        """Let the pollers finish their current receive while other parts shut down."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def _activity(self) -> tuple[int, int]:
        with self._lock:
            return self._in_flight, self._batches

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every source queue is empty and no invocation is running.

        Quiet must be seen twice in a row: moto counts visible and invisible messages at
        slightly different instants, so a message whose visibility runs out in between, or
        one a poller is receiving right then, can be missing from a single reading.
        """
        sqs = self._aws.client("sqs")
        deadline = time.monotonic() + timeout
        quiet_readings = 0
        while True:
            before = self._activity()
            pending = {m.queue_url: self._pending(sqs, m.queue_url) for m in self._mappings}
            in_flight, _ = after = self._activity()
            quiet = before == after and in_flight == 0 and not any(pending.values())
            quiet_readings = quiet_readings + 1 if quiet else 0
            if quiet_readings >= 2:
                return
            if time.monotonic() > deadline:
                waiting = {url.rsplit("/", 1)[1]: n for url, n in pending.items() if n}
                raise TimeoutError(
                    f"queues not drained after {timeout}s: {waiting or 'none'} pending, "
                    f"{in_flight} invocation(s) running"
                )
            self._stop.wait(0.05)

    @staticmethod
    def _pending(sqs: Any, queue_url: str) -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def _poll(self, mapping: QueueMapping) -> None:
        sqs = self._aws.client("sqs")
        while not self._stop.is_set():
            try:
                messages = self._receive(sqs, mapping)
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("receiving from %s failed", mapping.queue_url)
                self._stop.wait(FAILURE_BACKOFF_S)
                continue
            if not messages:
                continue
            with self._lock:
                self._in_flight += 1
                self._batches += 1
            try:
                self._deliver(sqs, mapping, messages)
            finally:
                with self._lock:
                    self._in_flight -= 1

    def _receive(self, sqs: Any, mapping: QueueMapping) -> list[dict[str, Any]]:
        """A long poll for the first messages, then one top-up when the window closes."""
        batch = self._receive_some(sqs, mapping, mapping.batch_size, LONG_POLL_S)
        window_s = min(mapping.batching_window_s, self._batching_window_cap_s)
        if batch and window_s > 0 and len(batch) < mapping.batch_size:
            self._stop.wait(window_s)
            batch.extend(self._receive_some(sqs, mapping, mapping.batch_size - len(batch), 0))
        return batch

    @staticmethod
    def _receive_some(
        sqs: Any, mapping: QueueMapping, wanted: int, wait_s: int
    ) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=mapping.queue_url,
            MaxNumberOfMessages=min(wanted, 10),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def _deliver(self, sqs: Any, mapping: QueueMapping, messages: list[dict[str, Any]]) -> None:
        ids = [m["MessageId"] for m in messages]
        event = sqs_event(messages, mapping.queue_arn, self._aws.region)
        try:
            result = self._invoke(mapping.function, event)
        except Exception:
            logger.exception("%s failed a batch of %d; all retried", mapping.function, len(ids))
            failed = set(ids)
        else:
            failed = failed_message_ids(result, ids, mapping.report_batch_item_failures)
            if failed:
                logger.warning(
                    "%s failed %d of %d messages", mapping.function, len(failed), len(ids)
                )
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        retried = [m for m in messages if m["MessageId"] in failed]
        for chunk in _chunks(succeeded):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            sqs.delete_message_batch(QueueUrl=mapping.queue_url, Entries=entries)
        for chunk in _chunks(retried):
            entries = [
                {
                    "Id": str(i),
                    "ReceiptHandle": m["ReceiptHandle"],
                    "VisibilityTimeout": FAILURE_BACKOFF_S,
                }
                for i, m in enumerate(chunk)
            ]
            sqs.change_message_visibility_batch(QueueUrl=mapping.queue_url, Entries=entries)


def _chunks(items: list[dict[str, Any]], size: int = 10) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
