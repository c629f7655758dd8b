"""The hourly reconciliation: ledger against provider records; stuck entries settled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.adapters.logging import make_logger
from shared.clock import parse_iso

logger = make_logger("reconcile")


def _now(event: dict[str, Any]) -> datetime | None:
    """The EventBridge event's `time` is "now" (the CLI's --now sets it); else the clock's."""
    return parse_iso(event["time"]) if event.get("time") else None


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = wiring.reconcile_service().run(_now(event)).as_dict()
    if report["clean"]:
        logger.info("reconcile finished", extra={"report": report})
    else:
        logger.error("reconcile found mismatches", extra={"report": report})
    return report
