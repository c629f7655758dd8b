"""Every route of the API in one place: who may call it, what it takes and returns.

Handlers look their route up here to enforce roles; the OpenAPI document is generated from
it; a test checks it against template.yaml, so the three never drift apart.

Models are named here ("referrals.ReferralCreate" is `shared.schemas.referrals.ReferralCreate`,
"page:..." its `PageOut` list) and imported when a route first needs them: importing every
route's models made up about 40 ms of each HTTP function's cold import, which serves only
its own few routes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from shared.http.scope import ProgramRef, in_body, in_path, in_query, of_advocate, of_referral

if TYPE_CHECKING:
    from pydantic import BaseModel

_PAGE = "page:"


@cache
def model_named(name: str) -> type[BaseModel]:
    """The model a catalogue name stands for; one class per name, so schemas name it once."""
    if name.startswith(_PAGE):
        from shared.schemas.common import PageOut

        page: type[BaseModel] = PageOut[model_named(name.removeprefix(_PAGE))]  # type: ignore[misc,assignment]
        return page
    module, _, attribute = name.rpartition(".")
    model: type[BaseModel] = getattr(importlib.import_module(f"shared.schemas.{module}"), attribute)
    return model


def _model(name: str | None) -> type[BaseModel] | None:
    return model_named(name) if name is not None else None


# The methods that change something: each takes an Idempotency-Key and runs once per key.
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    roles: frozenset[str]
    summary: str
    request_model: str | None = None
    response_models: dict[int, str | None] = field(default_factory=dict)
    list_query: bool = False
    query_model: str | None = None
    # Where the route's program is; every client route has one (a token limited to
    # programs is checked against it before the route runs).
    program: ProgramRef | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def request(self) -> type[BaseModel] | None:
        return _model(self.request_model)

    @property
    def responses(self) -> dict[int, type[BaseModel] | None]:
        return {status: _model(name) for status, name in self.response_models.items()}

    @property
    def query(self) -> type[BaseModel] | None:
        return _model(self.query_model)


def _r(
    method: str,
    path: str,
    roles: set[str],
    summary: str,
    request: str | None = None,
    responses: dict[int, str | None] | None = None,
    list_query: bool = False,
    query: str | None = None,
    program: ProgramRef | None = None,
) -> RouteSpec:
    return RouteSpec(
        method,
        path,
        frozenset(roles),
        summary,
        request,
        responses or {},
        list_query,
        query,
        program,
    )


ROUTES: tuple[RouteSpec, ...] = (
    _r(
        "POST",
        "/v1/programs",
        {"admin"},
        "Create a program",
        "programs.ProgramCreate",
        {201: "programs.ProgramOut"},
    ),
    _r(
        "GET",
        "/v1/programs",
        {"admin", "finance"},
        "List programs",
        responses={200: "page:programs.ProgramOut"},
        list_query=True,
    ),
    _r(
        "GET",
        "/v1/programs/{program_id}",
        {"admin", "finance"},
        "A program with its budget used and left",
        responses={200: "programs.ProgramOut"},
    ),
    _r(
        "PATCH",
        "/v1/programs/{program_id}",
        {"admin"},
        "Pause or resume, top up the budget, change holding and review settings and the "
        "incentive variants",
        "programs.ProgramUpdate",
        {200: "programs.ProgramOut"},
    ),
    _r(
        "GET",
        "/v1/programs/{program_id}/codes/{code}",
        {"client"},
        "Whether a referral code is valid for the program, and the referee's reward",
        responses={200: "programs.CodeCheckOut"},
        program=in_path(),
    ),
    _r(
        "POST",
        "/v1/programs/{program_id}/advocates",
        {"client"},
        "Enrol an advocate (enrolling again returns the same code with 200)",
        "advocates.AdvocateEnrol",
        {201: "advocates.AdvocateEnrolled", 200: "advocates.AdvocateEnrolled"},
        program=in_path(),
    ),
    _r(
        "GET",
        "/v1/advocates/{advocate_id}",
        {"client", "finance"},
        "An advocate with its code, its referrals by status and its rewards earned, "
        "pending and paid",
        responses={200: "advocates.AdvocateOut"},
        program=of_advocate(),
    ),
    _r(
        "POST",
        "/v1/referrals",
        {"client"},
        "Record a referral",
        "referrals.ReferralCreate",
        {201: "referrals.ReferralCreated"},
        program=in_body(),
    ),
    _r(
        "GET",
        "/v1/referrals",
        {"client", "finance"},
        "Referrals of a program or an advocate, oldest first; filters: program_id, "
        "advocate_id, status, from, to (occurred_at, both included)",
        responses={200: "page:referrals.ReferralOut"},
        list_query=True,
        query="referrals.ReferralQuery",
        program=in_query(),
    ),
    _r(
        "GET",
        "/v1/referrals/{referral_id}",
        {"client", "finance"},
        "A referral with its risk decision and rewards",
        responses={200: "referrals.ReferralOut"},
        program=of_referral(),
    ),
    _r(
        "POST",
        "/v1/referrals/{referral_id}/events",
        {"client"},
        "Report a signup or purchase; the first qualifying one triggers scoring",
        "referrals.EventCreate",
        {202: "referrals.EventAccepted", 200: "referrals.EventAccepted"},
        program=of_referral(),
    ),
    # --- finance review, audit, blocklist, stats, erasure ---
    _r(
        "GET",
        "/v1/reviews",
        {"finance"},
        "Open reviews, highest risk first; filters: status=open, program_id, min_score, reason",
        responses={200: "page:reviews.OpenReviewOut"},
        list_query=True,
        query="reviews.ReviewQuery",
    ),
    _r(
        "GET",
        "/v1/reviews/{referral_id}",
        {"finance"},
        "One review with its evidence, timeline and approvals so far",
        responses={200: "reviews.ReviewDetailOut"},
    ),
    _r(
        "POST",
        "/v1/reviews/{referral_id}/decision",
        {"finance"},
        "Approve or reject; 202 while a second, different approver is still needed",
        "reviews.DecisionIn",
        {200: "reviews.DecisionOut", 202: "reviews.DecisionOut"},
    ),
    _r(
        "GET",
        "/v1/audit",
        {"finance"},
        "Append-only audit entries of a referral, a program, or global changes",
        responses={200: "page:reviews.AuditEntryOut"},
        list_query=True,
        query="reviews.AuditQuery",
    ),
    _r(
        "POST",
        "/v1/blocklist",
        {"finance"},
        "Block an advocate, email domain, device, IP or payment fingerprint",
        "reviews.BlocklistIn",
        {201: "reviews.BlocklistEntryOut"},
    ),
    _r(
        "GET",
        "/v1/blocklist",
        {"finance"},
        "Blocklist entries, newest first",
        responses={200: "page:reviews.BlocklistEntryOut"},
        list_query=True,
    ),
    _r(
        "DELETE",
        "/v1/blocklist/{entry_id}",
        {"finance"},
        "Remove a blocklist entry",
        responses={200: "reviews.BlocklistEntryOut"},
    ),
    _r(
        "POST",
        "/v1/programs/{program_id}/campaigns",
        {"admin"},
        "Start a group-goal campaign: at the goal, each participating advocate is paid once",
        "campaigns.CampaignCreate",
        {201: "campaigns.CampaignOut"},
    ),
    _r(
        "GET",
        "/v1/programs/{program_id}/campaigns/{campaign_id}",
        {"admin", "finance", "client"},
        "A campaign with its progress towards the goal",
        responses={200: "campaigns.CampaignOut"},
        program=in_path(),
    ),
    _r(
        "GET",
        "/v1/programs/{program_id}/stats",
        {"admin", "finance"},
        "Referrals, conversions, rewards paid, budget, flagged and fraud rate; each incentive "
        "variant's figures and the leader against the runner-up",
        responses={200: "reviews.ProgramStatsOut"},
    ),
    _r(
        "DELETE",
        "/v1/customers/{customer_id}",
        {"admin"},
        "Erase a customer's personal data; hashes, ledger and audit stay",
        responses={200: "reviews.ErasureOut"},
    ),
    # --- points ---
    _r(
        "GET",
        "/v1/customers/{customer_id}/points",
        {"client", "finance"},
        "A customer's points in a program: balance, points_debt and history (newest first, "
        "paged with limit and cursor)",
        responses={200: "points.PointsOut"},
        list_query=True,
        query="points.PointsQuery",
        program=in_query(),
    ),
    _r(
        "POST",
        "/v1/customers/{customer_id}/points/redemptions",
        {"client"},
        "Redeem points (never below zero: 409 naming points); the same reference again "
        "returns the first redemption (200)",
        "points.RedemptionIn",
        {201: "points.RedemptionOut", 200: "points.RedemptionOut"},
        program=in_body(),
    ),
    # --- reward fulfilment ---
    _r(
        "POST",
        "/v1/referrals/{referral_id}/refunds",
        {"client"},
        "Report a refund: cancels unpaid rewards or claws back paid ones (replay: 200)",
        "rewards.RefundCreate",
        {201: "rewards.RefundOut", 200: "rewards.RefundOut"},
        program=of_referral(),
    ),
    _r(
        "GET",
        "/v1/rewards",
        {"finance"},
        "Reward ledger entries, filtered by referral_id and/or status",
        responses={200: "page:rewards.RewardEntryOut"},
        list_query=True,
        query="rewards.RewardListQuery",
    ),
    _r(
        "POST",
        "/v1/rewards/{reward_id}/reissue",
        {"finance"},
        "Reissue a failed reward as a new attempt (409 while an earlier attempt may pay "
        "or the budget is short)",
        "rewards.ReissueIn",
        {200: "rewards.ReissuedOut"},
    ),
    _r(
        "POST",
        "/v1/referrals/{referral_id}/reverse",
        {"finance"},
        "Reverse a referral without a refund: unpaid rewards cancelled, paid ones clawed back",
        "rewards.ReverseIn",
        {200: "rewards.ReversalOut"},
    ),
    # --- merchant webhooks ---
    _r(
        "POST",
        "/v1/webhooks",
        {"admin"},
        "Register a webhook; the signing secret is in this answer only",
        "webhooks.WebhookCreate",
        {201: "webhooks.WebhookCreated"},
    ),
    _r(
        "GET",
        "/v1/webhooks",
        {"admin"},
        "Registered webhooks (never their secrets)",
        responses={200: "page:webhooks.WebhookOut"},
    ),
    _r(
        "DELETE",
        "/v1/webhooks/{webhook_id}",
        {"admin"},
        "Delete a webhook; deliveries not yet made are cancelled",
        responses={200: "webhooks.WebhookOut"},
    ),
    _r(
        "GET",
        "/v1/webhooks/{webhook_id}/deliveries",
        {"admin"},
        "Every delivery attempt, newest event first: status code or error, next attempt",
        responses={200: "page:webhooks.DeliveryAttemptOut"},
    ),
    _r(
        "POST",
        "/v1/webhooks/{webhook_id}/rotate-secret",
        {"admin"},
        "A new signing secret, shown this once; the old one stops signing at once",
        responses={200: "webhooks.WebhookSecretOut"},
    ),
    _r("GET", "/v1/openapi.json", set(), "This document", responses={200: None}),
)

BY_KEY = {route.key: route for route in ROUTES}


def undeclared_client_routes(routes: tuple[RouteSpec, ...]) -> list[str]:
    """Client routes that do not say where their program is (a test keeps this empty)."""
    return [r.key for r in routes if "client" in r.roles and r.program is None]


def spec(method: str, path: str) -> RouteSpec:
    return BY_KEY[f"{method} {path}"]
