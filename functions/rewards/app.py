"""The reward ledger for finance: GET /v1/rewards?referral_id=&status=."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.rewards import RewardEntryOut, RewardListQuery

api = Api(service="rewards")


@api.route("GET", "/v1/rewards")
def list_rewards(request: Request[Any]) -> Reply:
    page = request.list_query()
    filters = request.filters(RewardListQuery)
    rewards, cursor = wiring.reward_ledger().list(
        referral_id=filters.referral_id, status=filters.status, limit=page.limit, cursor=page.cursor
    )
    return Reply.page([RewardEntryOut.of(r) for r in rewards], cursor)


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
