"""Every route of the API in one place: who may call it, what it takes and returns.

Handlers look their route up here to enforce roles; the OpenAPI document is generated from
it; a test checks it against template.yaml, so the three never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

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


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    roles: frozenset[str]
    summary: str
    request: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    list_query: bool = False

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
) -> RouteSpec:
    return RouteSpec(method, path, frozenset(roles), summary, request, responses or {}, list_query)


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
    ),
    _r(
        "POST",
        "/v1/programs/{program_id}/advocates",
        {"client"},
        "Enrol an advocate (enrolling again returns the same code with 200)",
        AdvocateEnrol,
        {201: AdvocateEnrolled, 200: AdvocateEnrolled},
    ),
    _r(
        "POST",
        "/v1/referrals",
        {"client"},
        "Record a referral",
        ReferralCreate,
        {201: ReferralCreated},
    ),
    _r(
        "GET",
        "/v1/referrals/{referral_id}",
        {"client", "finance"},
        "A referral with its risk decision and rewards",
        responses={200: ReferralOut},
    ),
    _r(
        "POST",
        "/v1/referrals/{referral_id}/events",
        {"client"},
        "Report a signup or purchase; the first qualifying one triggers scoring",
        EventCreate,
        {202: EventAccepted, 200: EventAccepted},
    ),
    _r("GET", "/v1/openapi.json", set(), "This document", responses={200: None}),
)

BY_KEY = {route.key: route for route in ROUTES}


def spec(method: str, path: str) -> RouteSpec:
    return BY_KEY[f"{method} {path}"]
