"""Scheduled daily: reviews left undecided past their program's timeout are resolved by the
program's `review_timeout_action`, each with an audit entry."""

from __future__ import annotations

from typing import Any

from shared import wiring
from shared.runtime.job import Job, Run

job = Job("expire-reviews", done="reviews expired", clock=wiring.clock)


def expire_reviews(run: Run) -> dict[str, Any]:
    return wiring.review_service().expire_reviews(run.now).as_dict()


lambda_handler = job.handler(expire_reviews)
