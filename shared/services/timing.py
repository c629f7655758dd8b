"""Rules about client-supplied times."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import Clock
from shared.errors import InvalidRequest

MAX_CLOCK_SKEW = timedelta(minutes=5)


def occurred_at(value: datetime | None, clock: Clock, field: str = "occurred_at") -> datetime:
    """When something happened: the client's time, defaulting to now, never in the future."""
    now = clock.now()
    if value is None:
        return now
    if value > now + MAX_CLOCK_SKEW:
        raise InvalidRequest.field(
            field, "is more than 5 minutes in the future", code="future_timestamp"
        )
    return value


def not_before(at: datetime, earliest: datetime, what: str, code: str) -> None:
    """Refuse a client's time that predates what it depends on (the record would skip
    the checks that ran since: holding period, re-scoring, velocity)."""
    if at < earliest:
        raise InvalidRequest.field("occurred_at", f"is before {what}", code=code)
