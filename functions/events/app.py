"""Signups and purchases reported on a referral."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.http.api import Api, Reply, Request
from shared.schemas.referrals import EventAccepted, EventCreate
from shared.schemas.rewards import RefundCreate, RefundOut

api = Api(service="events")


@api.route("POST", "/v1/referrals/{referral_id}/events")
def record_event(request: Request[EventCreate]) -> Reply:
    outcome = wiring.event_service().record(request.path["referral_id"], request.body.command())
    event = outcome.event
    api.logger.info(
        "event replayed" if outcome.replayed else "event recorded",
        extra={"referral_id": event.referral_id, "qualifying": event.qualifying},
    )
    return Reply.of(
        200 if outcome.replayed else 202,
        EventAccepted(
            referral_id=event.referral_id,
            type=event.type,
            order_id=event.order_id,
            qualifying=event.qualifying,
            status=outcome.status,
            occurred_at=event.occurred_at,
        ),
    )


@api.route("POST", "/v1/referrals/{referral_id}/refunds")
def record_refund(request: Request[RefundCreate]) -> Reply:
    outcome = wiring.refund_service().record(
        request.path["referral_id"], request.body.command(), actor=request.principal.subject
    )
    api.logger.info(
        "refund replayed" if outcome.replayed else "refund recorded",
        extra={"referral_id": outcome.record.referral_id, "reversed": outcome.record.reversed},
    )
    return Reply.of(
        200 if outcome.replayed else 201,
        RefundOut.of(outcome.record, outcome.status, outcome.rewards),
    )


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
