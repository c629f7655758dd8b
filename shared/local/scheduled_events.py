"""The EventBridge "Scheduled Event" payload, and the ISO 8601 instants it carries."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?Z$")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 UTC instant written with `Z`, e.g. 2026-05-01T09:30:00Z."""
    if not isinstance(text, str) or not _INSTANT.match(text):
        raise ValueError(f"{text!r} is not an ISO 8601 UTC time like 2026-05-01T09:30:00Z")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time") from exc


def format_instant(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled_event(
    moment: datetime, account_id: str, region: str, resources: list[str]
) -> dict[str, Any]:
    """What EventBridge delivers to a scheduled function; handlers read `time` as "now"."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": format_instant(moment),
        "region": region,
        "resources": resources,
        "detail": {},
    }
