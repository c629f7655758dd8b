"""The OpenAPI document (no authentication)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.logging import make_logger
from shared.http.openapi import document
from shared.http.problem import dumps

logger = make_logger("api-docs")
app = APIGatewayHttpResolver()


@app.get("/v1/openapi.json")
def openapi() -> Response:
    return Response(status_code=200, content_type="application/json", body=dumps(document()))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
