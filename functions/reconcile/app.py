"""The hourly reconciliation: ledger against provider records; stuck entries settled."""

from __future__ import annotations

from typing import Any

from shared import wiring
from shared.runtime.job import Job, Run

job = Job("reconcile", done="reconcile finished", clock=wiring.clock)


def reconcile(run: Run) -> dict[str, Any]:
    report = wiring.reconcile_service().run(run.now).as_dict()
    if not report["clean"]:
        # The template's alarm filters on this message.
        run.logger.error("reconcile found mismatches", extra={"report": report})
    return report


lambda_handler = job.handler(reconcile)
