"""Advocate enrolment requests and responses."""

from __future__ import annotations

from shared.schemas.common import Context, Email, Identifier, Out, Strict, Timestamp


class AdvocateEnrol(Strict):
    customer_id: Identifier
    email: Email
    context: Context | None = None
    occurred_at: Timestamp | None = None


class AdvocateEnrolled(Out):
    advocate_id: str
    referral_code: str
    share_url: str
