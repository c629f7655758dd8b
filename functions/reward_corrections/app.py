"""Finance's corrections to the reward ledger: reissue a failed reward, reverse a referral.

Separate from the read-only ledger function so that only these two routes hold the rights
to write the ledger, queue rewards and look orders up at the providers.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.rewards import ReissuedOut, ReissueIn, ReversalOut, ReverseIn, RewardEntryOut

api = Api(service="reward-corrections")


@api.route("POST", "/v1/rewards/{reward_id}/reissue")
def reissue_reward(request: Request[ReissueIn]) -> Reply:
    reward = wiring.reissue_service().reissue(
        request.path["reward_id"], request.body.command(), actor=request.principal.subject
    )
    api.logger.info(
        "reward reissued", extra={"reward_id": reward.reward_id, "attempt": reward.attempt}
    )
    return Reply.of(200, ReissuedOut.of_attempt(reward))


@api.route("POST", "/v1/referrals/{referral_id}/reverse")
def reverse_referral(request: Request[ReverseIn]) -> Reply:
    outcome = wiring.finance_reversal_service().reverse(
        request.path["referral_id"], request.body.command(), actor=request.principal.subject
    )
    api.logger.info("referral reversed by finance", extra={"referral_id": outcome.referral_id})
    return Reply.of(
        200,
        ReversalOut(
            referral_id=outcome.referral_id,
            status=outcome.status,
            rewards=[RewardEntryOut.of(r) for r in outcome.rewards],
        ),
    )


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
