"""The hourly release job: expire stale pending referrals, release held ones, queue rewards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.adapters.logging import make_logger
from shared.clock import parse_iso

logger = make_logger("release")


def _now(event: dict[str, Any]) -> datetime | None:
    """The EventBridge event's `time` is "now" (the CLI's --now sets it); else the clock's."""
    return parse_iso(event["time"]) if event.get("time") else None


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The run stops between referrals before the function's timeout; the next run goes on.
    report = wiring.release_service().run(
        _now(event), time_left=lambda: context.get_remaining_time_in_millis() / 1000
    )
    summary = report.summary()
    logger.info("release finished", extra=summary)
    return summary
