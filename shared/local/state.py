"""Keeping a stack's data across restarts: DynamoDB items and queued SQS messages are
dumped to the state directory on a clean stop and loaded into the next stack.

Files are keyed by logical id, because physical names change with every stack.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

from shared.local.paths import write_private

logger = logging.getLogger(__name__)

TABLES_DIR = "dynamodb"
QUEUES_DIR = "sqs"
_BATCH_WRITE = 25


def _encode(value: Any) -> Any:
    """DynamoDB's typed JSON with binary values base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _write_json(path: Path, document: Any) -> None:
    write_private(path, json.dumps(_encode(document)))


def _read_json(path: Path) -> Any:
    return _decode(json.loads(path.read_text()))


def dump_tables(dynamodb: Any, tables: dict[str, str], state_dir: Path) -> None:
    for logical_id, name in tables.items():
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            items.extend(page["Items"])
        _write_json(state_dir / TABLES_DIR / f"{logical_id}.json", {"items": items})
        logger.info("saved %d item(s) of %s", len(items), logical_id)


def load_tables(dynamodb: Any, tables: dict[str, str], state_dir: Path) -> None:
    for logical_id, name in tables.items():
        path = state_dir / TABLES_DIR / f"{logical_id}.json"
        if not path.is_file():
            continue
        items = _read_json(path)["items"]
        for start in range(0, len(items), _BATCH_WRITE):
            requests = [{"PutRequest": {"Item": i}} for i in items[start : start + _BATCH_WRITE]]
            while requests:
                response = dynamodb.batch_write_item(RequestItems={name: requests})
                requests = response.get("UnprocessedItems", {}).get(name, [])
        logger.info("restored %d item(s) of %s", len(items), logical_id)


def _queued(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def dump_queues(sqs: Any, queues: dict[str, str], state_dir: Path, settle_s: float = 3.0) -> None:
    """Take every message out of every queue and save it.

    Runs after the pollers stopped; messages a failed batch made invisible for a moment
    come back within `settle_s`. All queues are emptied together because receiving from a
    source queue may move messages into its DLQ.
    """
    saved: dict[str, list[dict[str, Any]]] = {logical_id: [] for logical_id in queues}
    deadline = time.monotonic() + settle_s
    while True:
        received_any = False
        for logical_id, url in queues.items():
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=600,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            received_any = received_any or bool(messages)
            saved[logical_id].extend(messages)
        if received_any:
            continue
        if not any(_queued(sqs, url) - len(saved[lid]) > 0 for lid, url in queues.items()):
            break
        if time.monotonic() > deadline:
            # Received elsewhere and not yet back: SQS offers no way to read those.
            logger.warning("SQS messages in flight at shutdown were not saved")
            break
        time.sleep(0.2)  # a failed batch's backoff has to run out; nothing to wait on
    for logical_id, messages in saved.items():
        _write_json(
            state_dir / QUEUES_DIR / f"{logical_id}.json",
            {"messages": [_resendable(m) for m in messages]},
        )
        logger.info("saved %d message(s) of %s", len(messages), logical_id)


def _resendable(message: dict[str, Any]) -> dict[str, Any]:
    attributes = message.get("Attributes") or {}
    entry: dict[str, Any] = {"MessageBody": message.get("Body", "")}
    if message.get("MessageAttributes"):
        entry["MessageAttributes"] = message["MessageAttributes"]
    for key in ("MessageGroupId", "MessageDeduplicationId"):
        if key in attributes:
            entry[key] = attributes[key]
    return entry


def load_queues(sqs: Any, queues: dict[str, str], state_dir: Path) -> None:
    for logical_id, url in queues.items():
        path = state_dir / QUEUES_DIR / f"{logical_id}.json"
        if not path.is_file():
            continue
        messages = _read_json(path)["messages"]
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), **m} for i, m in enumerate(chunk)]
            response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if response.get("Failed"):
                failed = response["Failed"]
                raise RuntimeError(f"restoring messages of {logical_id} failed: {failed}")
        logger.info("restored %d message(s) of %s", len(messages), logical_id)
