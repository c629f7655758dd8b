"""Scheduled hourly: re-score unpaid referrals on the evidence that has arrived since, pick
up qualified referrals whose scoring message was lost, and publish feature drift."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.adapters.logging import make_logger
from shared.clock import parse_iso

NEXT_RUN = timedelta(hours=1)
logger = make_logger("rescore")
# The namespace comes from POWERTOOLS_METRICS_NAMESPACE in the template; the default keeps a
# manual run without it from failing at flush.
metrics = Metrics(
    service="rescore",
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ReferralRewards"),
)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The scheduled event's `time` is "now", so a manual run can act at a chosen moment.
    now = parse_iso(event["time"]) if event.get("time") else datetime.now(UTC)
    service = wiring.rescore_sweep()
    if service.rules_only:
        logger.warning("no trained model found; re-scoring on rules only (rules-1)")
    # Referrals marked by a write since their last score, and those due for release
    # before the next run (the schedule is hourly).
    report = service.rescore_unpaid(now, wiring.rescore_candidates(), release_within=NEXT_RUN)
    metrics.add_dimension(name="model_version", value=report.model_version)
    metrics.add_metric(name="RescoreExamined", unit=MetricUnit.Count, value=report.examined)
    metrics.add_metric(name="RescoreUpdated", unit=MetricUnit.Count, value=report.updated)
    metrics.add_metric(name="RescoreReopened", unit=MetricUnit.Count, value=report.reopened)
    metrics.add_metric(
        name="RescoreUnscoredPickedUp", unit=MetricUnit.Count, value=report.unscored_picked_up
    )
    metrics.add_metric(name="RescoreFailures", unit=MetricUnit.Count, value=len(report.failures))
    for name, value in report.psi.items():
        metrics.add_metric(name=f"FeaturePSI_{name}", unit=MetricUnit.NoUnit, value=value)
    if report.failures:
        logger.error("some referrals could not be re-scored", extra={"failures": report.failures})
    logger.info("re-score finished", extra=report.as_dict())
    return report.as_dict()
