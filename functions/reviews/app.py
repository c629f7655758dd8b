"""Finance: the review queue and decisions, the audit trail, the blocklist."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.domain.reviews import ReviewFilter
from shared.http.api import Api, Reply, Request
from shared.schemas.reviews import (
    AuditEntryOut,
    AuditQuery,
    BlocklistEntryOut,
    BlocklistIn,
    DecisionIn,
    DecisionOut,
    OpenReviewOut,
    ReviewDetailOut,
    ReviewQuery,
)

api = Api(service="reviews")


@api.route("GET", "/v1/reviews")
def list_reviews(request: Request[Any]) -> Reply:
    page = request.list_query()
    query = request.filters(ReviewQuery)
    where = ReviewFilter(
        program_id=query.program_id, min_score=query.min_score, reason=query.reason
    )
    reviews, cursor = wiring.review_service().open_reviews(where, page.limit, page.cursor)
    return Reply.page([OpenReviewOut.of(r) for r in reviews], cursor)


@api.route("GET", "/v1/reviews/{referral_id}")
def get_review(request: Request[Any]) -> Reply:
    detail = wiring.review_service().detail(request.path["referral_id"])
    return Reply.of(200, ReviewDetailOut.of(detail))


@api.route("POST", "/v1/reviews/{referral_id}/decision")
def decide(request: Request[DecisionIn]) -> Reply:
    referral_id = request.path["referral_id"]
    decided = wiring.review_service().decide(
        referral_id, request.body.decision, request.body.note, request.principal.subject
    )
    api.logger.info(
        "review decision",
        extra={
            "referral_id": referral_id,
            "decision": request.body.decision,
            "status": decided.referral.status.value,
            "final": decided.final,
        },
    )
    return Reply.of(200 if decided.final else 202, DecisionOut.of(decided))


@api.route("GET", "/v1/audit")
def list_audit(request: Request[Any]) -> Reply:
    page = request.list_query()
    query = request.filters(AuditQuery)
    entries, cursor = wiring.audit_service().entries(
        referral_id=query.referral_id,
        program_id=query.program_id,
        limit=page.limit,
        cursor=page.cursor,
    )
    return Reply.page([AuditEntryOut.of(e) for e in entries], cursor)


@api.route("POST", "/v1/blocklist")
def block(request: Request[BlocklistIn]) -> Reply:
    body = request.body
    entry = wiring.blocklist_service().add(
        body.kind, body.value, body.note, request.principal.subject
    )
    api.logger.info("blocked", extra={"entry_id": entry.entry_id, "kind": entry.kind})
    return Reply.of(201, BlocklistEntryOut.of(entry))


@api.route("GET", "/v1/blocklist")
def list_blocklist(request: Request[Any]) -> Reply:
    page = request.list_query()
    entries, cursor = wiring.blocklist_service().list(page.limit, page.cursor)
    return Reply.page([BlocklistEntryOut.of(e) for e in entries], cursor)


@api.route("DELETE", "/v1/blocklist/{entry_id}")
def unblock(request: Request[Any]) -> Reply:
    entry = wiring.blocklist_service().remove(request.path["entry_id"], request.principal.subject)
    api.logger.info("unblocked", extra={"entry_id": entry.entry_id, "kind": entry.kind})
    return Reply.of(200, BlocklistEntryOut.of(entry))


@api.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handler(event, context)
