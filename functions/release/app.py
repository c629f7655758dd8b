"""The hourly release job: expire stale pending referrals, release held ones, queue rewards."""

from __future__ import annotations

from typing import Any

from shared import wiring
from shared.runtime.job import Job, Run

job = Job("release", done="release finished", clock=wiring.clock)


def release(run: Run) -> dict[str, Any]:
    # The run stops between referrals before the function's timeout; the next run goes on.
    return wiring.release_service().run(run.now, time_left=run.time_left).summary()


lambda_handler = job.handler(release)
