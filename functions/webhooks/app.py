"""Merchant webhooks: register, list, delete, rotate a secret, read deliveries (admins)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.webhooks import (
    DeliveryAttemptOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookSecretOut,
)

api = Api(service="webhooks")


@api.route("POST", "/v1/webhooks")
def register(request: Request[WebhookCreate]) -> Reply:
    body = request.body
    webhook, secret = wiring.webhook_service().register(
        body.url, body.events, body.program_id, request.principal.subject
    )
    api.logger.info("webhook registered", extra={"webhook_id": webhook.webhook_id})
    return Reply.of(201, WebhookCreated.with_secret(webhook, secret))


@api.route("GET", "/v1/webhooks")
def list_webhooks(request: Request[Any]) -> Reply:
    webhooks = wiring.webhook_service().all()
    return Reply.page([WebhookOut.of(w) for w in webhooks], None)


@api.route("DELETE", "/v1/webhooks/{webhook_id}")
def delete(request: Request[Any]) -> Reply:
    webhook = wiring.webhook_service().delete(request.path["webhook_id"])
    api.logger.info("webhook deleted", extra={"webhook_id": webhook.webhook_id})
    return Reply.of(200, WebhookOut.of(webhook))


@api.route("GET", "/v1/webhooks/{webhook_id}/deliveries")
def deliveries(request: Request[Any]) -> Reply:
    found = wiring.webhook_service().deliveries(request.path["webhook_id"])
    return Reply.page([row for d in found for row in DeliveryAttemptOut.rows(d)], None)


@api.route("POST", "/v1/webhooks/{webhook_id}/rotate-secret")
def rotate_secret(request: Request[Any]) -> Reply:
    webhook, secret = wiring.webhook_service().rotate_secret(request.path["webhook_id"])
    api.logger.info("webhook secret rotated", extra={"webhook_id": webhook.webhook_id})
    return Reply.of(200, WebhookSecretOut(webhook_id=webhook.webhook_id, secret=secret))


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
