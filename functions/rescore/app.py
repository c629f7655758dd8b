"""Scheduled hourly: re-score unpaid referrals on the evidence that has arrived since, pick
up qualified referrals whose scoring message was lost, and publish feature drift."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import wiring
from shared.runtime.job import Job, Run

# Referrals marked by a write since their last score, and those due for release before
# the next run (the schedule is hourly).
NEXT_RUN = timedelta(hours=1)

job = Job(
    "rescore",
    done="re-score finished",
    clock=wiring.clock,
    metrics_namespace=lambda: wiring.settings().metrics_namespace,
)


def rescore(run: Run) -> dict[str, Any]:
    service = wiring.rescore_sweep()
    if service.rules_only:
        run.logger.warning("no trained model found; re-scoring on rules only (rules-1)")
    report = service.rescore_unpaid(run.now, wiring.rescore_candidates(), release_within=NEXT_RUN)
    run.dimension("model_version", report.model_version)
    run.count("RescoreExamined", report.examined)
    run.count("RescoreUpdated", report.updated)
    run.count("RescoreReopened", report.reopened)
    run.count("RescoreUnscoredPickedUp", report.unscored_picked_up)
    run.count("RescoreFailures", len(report.failures))
    for name, value in report.psi.items():
        run.count(f"FeaturePSI_{name}", value, unit="None")
    if report.failures:
        run.logger.error(
            "some referrals could not be re-scored", extra={"failures": report.failures}
        )
    return report.as_dict()


lambda_handler = job.handler(rescore)
