"""Customer erasure: raw emails removed and the raw customer id replaced by its pseudonym;
hashes, amounts and audit entries kept."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.reviews import ErasureOut

api = Api(service="customers")


@api.route("DELETE", "/v1/customers/{customer_id}")
def erase_customer(request: Request[Any]) -> Reply:
    erasure = wiring.customer_service().erase(
        request.path["customer_id"], request.principal.subject
    )
    api.logger.info(
        "customer erased",
        extra={
            "advocates": len(erasure.advocates),
            "referrals": len(erasure.referrals),
            "pseudonymised": erasure.pseudonymised,
        },
    )
    return Reply.of(200, ErasureOut.of(erasure))


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
