"""Referral intake and read."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.referrals import ReferralCreate, ReferralCreated, ReferralOut, ReferralQuery

api = Api(service="referrals")


@api.route("POST", "/v1/referrals")
def create_referral(request: Request[ReferralCreate]) -> Reply:
    referral = wiring.referral_service().create(request.body.command())
    api.logger.info(
        "referral recorded",
        extra={"referral_id": referral.referral_id, "status": referral.status.value},
    )
    return Reply.of(201, ReferralCreated(referral_id=referral.referral_id, status=referral.status))


@api.route("GET", "/v1/referrals")
def list_referrals(request: Request[Any]) -> Reply:
    # Without rewards: they live in each referral's partition, a second query per row.
    page = request.list_query()
    roles = request.principal.roles
    where = request.filters(ReferralQuery).command(roles)
    referrals, cursor = wiring.merchant_views().referrals(where, page.limit, page.cursor)
    return Reply.page([ReferralOut.of(r, roles=roles) for r in referrals], cursor)


@api.route("GET", "/v1/referrals/{referral_id}")
def get_referral(request: Request[Any]) -> Reply:
    referral = wiring.referral_service().get(request.path["referral_id"])
    rewards = wiring.rewards_of(referral.referral_id)
    return Reply.of(200, ReferralOut.of(referral, rewards, roles=request.principal.roles))


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
