"""Advocate enrolment requests and responses."""

from __future__ import annotations

from shared.domain.commands import EnrolAdvocate
from shared.schemas.common import Context, Email, Identifier, Out, Strict, Timestamp


class AdvocateEnrol(Strict):
    customer_id: Identifier
    email: Email
    context: Context | None = None
    occurred_at: Timestamp | None = None

    def command(self) -> EnrolAdvocate:
        return EnrolAdvocate(
            customer_id=self.customer_id,
            email=self.email,
            context=self.context.command() if self.context else None,
            occurred_at=self.occurred_at,
        )


class AdvocateEnrolled(Out):
    advocate_id: str
    referral_code: str
    share_url: str
