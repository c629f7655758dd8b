"""Every route of the API in one place: who may call it, what it takes and returns.

Handlers look their route up here to enforce roles and, for client routes, the token's
programs (each client route says where its program is); the OpenAPI document is generated
from it; a test checks it against template.yaml, so the three never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from shared.http.scope import ProgramRef, in_body, in_path, of_referral
from shared.schemas.advocates import AdvocateEnrol, AdvocateEnrolled
from shared.schemas.common import PageOut
from shared.schemas.programs import CodeCheckOut, ProgramCreate, ProgramOut, ProgramUpdate
from shared.schemas.referrals import (
    EventAccepted,
    EventCreate,
    ReferralCreate,
    ReferralCreated,
    ReferralOut,
)
from shared.schemas.reviews import (
    AuditEntryOut,
    AuditQuery,
    BlocklistEntryOut,
    BlocklistIn,
    DecisionIn,
    DecisionOut,
    ErasureOut,
    OpenReviewOut,
    ProgramStatsOut,
    ReviewDetailOut,
    ReviewQuery,
)
from shared.schemas.rewards import RefundCreate, RefundOut, RewardEntryOut, RewardListQuery

# The methods that change something: each takes an Idempotency-Key and runs once per key.
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    roles: frozenset[str]
    summary: str
    request: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    list_query: bool = False
    query: type[BaseModel] | None = None
    # Where the route's program is; every client route has one (a token limited to
    # programs is checked against it before the route runs).
    program: ProgramRef | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _r(
    method: str,
    path: str,
    roles: set[str],
    summary: str,
    request: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None] | None = None,
    list_query: bool = False,
    query: type[BaseModel] | None = None,
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
    _r("POST", "/v1/programs", {"admin"}, "Create a program", ProgramCreate, {201: ProgramOut}),
    _r(
        "GET",
        "/v1/programs",
        {"admin", "finance"},
        "List programs",
        responses={200: PageOut[ProgramOut]},
        list_query=True,
    ),
    _r(
        "GET",
        "/v1/programs/{program_id}",
        {"admin", "finance"},
        "A program with its budget used and left",
        responses={200: ProgramOut},
    ),
    _r(
        "PATCH",
        "/v1/programs/{program_id}",
        {"admin"},
        "Pause or resume, top up the budget, change holding and review settings",
        ProgramUpdate,
        {200: ProgramOut},
    ),
    _r(
        "GET",
        "/v1/programs/{program_id}/codes/{code}",
        {"client"},
        "Whether a referral code is valid for the program, and the referee's reward",
        responses={200: CodeCheckOut},
        program=in_path(),
    ),
    _r(
        "POST",
        "/v1/programs/{program_id}/advocates",
        {"client"},
        "Enrol an advocate (enrolling again returns the same code with 200)",
        AdvocateEnrol,
        {201: AdvocateEnrolled, 200: AdvocateEnrolled},
        program=in_path(),
    ),
    _r(
        "POST",
        "/v1/referrals",
        {"client"},
        "Record a referral",
        ReferralCreate,
        {201: ReferralCreated},
        program=in_body(),
    ),
    _r(
        "GET",
        "/v1/referrals/{referral_id}",
        {"client", "finance"},
        "A referral with its risk decision and rewards",
        responses={200: ReferralOut},
        program=of_referral(),
    ),
    _r(
        "POST",
        "/v1/referrals/{referral_id}/events",
        {"client"},
        "Report a signup or purchase; the first qualifying one triggers scoring",
        EventCreate,
        {202: EventAccepted, 200: EventAccepted},
        program=of_referral(),
    ),
    # --- finance review, audit, blocklist, stats, erasure ---
    _r(
        "GET",
        "/v1/reviews",
        {"finance"},
        "Open reviews, highest risk first; filters: status=open, program_id, min_score, reason",
        responses={200: PageOut[OpenReviewOut]},
        list_query=True,
        query=ReviewQuery,
    ),
    _r(
        "GET",
        "/v1/reviews/{referral_id}",
        {"finance"},
        "One review with its evidence, timeline and approvals so far",
        responses={200: ReviewDetailOut},
    ),
    _r(
        "POST",
        "/v1/reviews/{referral_id}/decision",
        {"finance"},
        "Approve or reject; 202 while a second, different approver is still needed",
        DecisionIn,
        {200: DecisionOut, 202: DecisionOut},
    ),
    _r(
        "GET",
        "/v1/audit",
        {"finance"},
        "Append-only audit entries of a referral, a program, or global changes",
        responses={200: PageOut[AuditEntryOut]},
        list_query=True,
        query=AuditQuery,
    ),
    _r(
        "POST",
        "/v1/blocklist",
        {"finance"},
        "Block an advocate, email domain, device, IP or payment fingerprint",
        BlocklistIn,
        {201: BlocklistEntryOut},
    ),
    _r(
        "GET",
        "/v1/blocklist",
        {"finance"},
        "Blocklist entries, newest first",
        responses={200: PageOut[BlocklistEntryOut]},
        list_query=True,
    ),
    _r(
        "DELETE",
        "/v1/blocklist/{entry_id}",
        {"finance"},
        "Remove a blocklist entry",
        responses={200: BlocklistEntryOut},
    ),
    _r(
        "GET",
        "/v1/programs/{program_id}/stats",
        {"admin", "finance"},
        "Referrals, conversions, rewards paid, budget, flagged and fraud rate",
        responses={200: ProgramStatsOut},
    ),
    _r(
        "DELETE",
        "/v1/customers/{customer_id}",
        {"admin"},
        "Erase a customer's personal data; hashes, ledger and audit stay",
        responses={200: ErasureOut},
    ),
    # --- reward fulfilment ---
    _r(
        "POST",
        "/v1/referrals/{referral_id}/refunds",
        {"client"},
        "Report a refund: cancels unpaid rewards or claws back paid ones (replay: 200)",
        RefundCreate,
        {201: RefundOut, 200: RefundOut},
        program=of_referral(),
    ),
    _r(
        "GET",
        "/v1/rewards",
        {"finance"},
        "Reward ledger entries, filtered by referral_id and/or status",
        responses={200: PageOut[RewardEntryOut]},
        list_query=True,
        query=RewardListQuery,
    ),
    _r("GET", "/v1/openapi.json", set(), "This document", responses={200: None}),
)

BY_KEY = {route.key: route for route in ROUTES}


def undeclared_client_routes(routes: tuple[RouteSpec, ...]) -> list[str]:
    """Client routes that do not say where their program is (a test keeps this empty)."""
    return [r.key for r in routes if "client" in r.roles and r.program is None]


def spec(method: str, path: str) -> RouteSpec:
    return BY_KEY[f"{method} {path}"]
