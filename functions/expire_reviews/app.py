"""Scheduled daily: reviews left undecided past their program's timeout are resolved by the
program's `review_timeout_action`, each with an audit entry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.adapters.logging import make_logger
from shared.clock import parse_iso

logger = make_logger("expire-reviews")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # The scheduled event's `time` is "now", so a manual run can act at a chosen moment.
    now = parse_iso(event["time"]) if event.get("time") else datetime.now(UTC)
    report = wiring.review_service().expire_reviews(now)
    logger.info("reviews expired", extra=report.as_dict())
    return report.as_dict()
