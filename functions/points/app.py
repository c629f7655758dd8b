"""A customer's points in a program: balance, debt and history; redemptions."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.points import PointsOut, PointsQuery, RedemptionIn, RedemptionOut

api = Api(service="points")


@api.route("GET", "/v1/customers/{customer_id}/points")
def get_points(request: Request[Any]) -> Reply:
    page = request.list_query()
    statement, cursor = wiring.points_service().statement(
        request.path["customer_id"],
        request.filters(PointsQuery).program_id,
        limit=page.limit,
        cursor=page.cursor,
    )
    return Reply.of(200, PointsOut.of(statement, cursor))


@api.route("POST", "/v1/customers/{customer_id}/points/redemptions")
def redeem_points(request: Request[RedemptionIn]) -> Reply:
    redemption, created = wiring.points_service().redeem(
        request.path["customer_id"], request.body.command()
    )
    api.logger.info(
        "points redeemed" if created else "redemption replayed",
        extra={"program_id": redemption.program_id, "points": redemption.points},
    )
    return Reply.of(201 if created else 200, RedemptionOut.of(redemption))


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
