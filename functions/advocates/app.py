"""Advocate enrolment: one code per customer per program."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.config import settings
from shared.http.api import Api, Reply, Request
from shared.schemas.advocates import AdvocateEnrol, AdvocateEnrolled, AdvocateOut

api = Api(service="advocates")


@api.route("POST", "/v1/programs/{program_id}/advocates")
def enrol_advocate(request: Request[AdvocateEnrol]) -> Reply:
    enrolment = wiring.advocate_service().enrol(request.path["program_id"], request.body.command())
    advocate = enrolment.advocate
    api.logger.info(
        "advocate enrolled" if enrolment.created else "advocate already enrolled",
        extra={"advocate_id": advocate.advocate_id, "program_id": advocate.program_id},
    )
    return Reply.of(
        201 if enrolment.created else 200,
        AdvocateEnrolled(
            advocate_id=advocate.advocate_id,
            referral_code=advocate.referral_code,
            share_url=f"{settings().share_base_url}{advocate.referral_code}",
        ),
    )


@api.route("GET", "/v1/advocates/{advocate_id}")
def get_advocate(request: Request[Any]) -> Reply:
    summary = wiring.merchant_views().advocate(request.path["advocate_id"])
    return Reply.of(200, AdvocateOut.of(summary, settings().share_base_url))


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
