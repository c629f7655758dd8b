"""Advocate enrolment requests and responses."""

from __future__ import annotations

from pydantic import Field

from shared.domain.commands import EnrolAdvocate
from shared.domain.referral_views import AdvocateSummary
from shared.schemas.common import Context, Email, Identifier, MoneyOut, Out, Strict, Timestamp


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


class AdvocateOut(Out):
    advocate_id: str
    program_id: str
    customer_id: str
    referral_code: str
    share_url: str
    variant: str = Field(
        description="The incentive variant assigned at enrolment, for good; `default` is "
        "the program's own rewards"
    )
    referrals: dict[str, int] = Field(
        description="The advocate's referrals counted by status (every status, zeros too)"
    )
    rewards: dict[str, dict[str, MoneyOut]] = Field(
        description="The advocate's own rewards by figure, then by kind: earned (sent or "
        "confirmed), pending (created or queued), paid (confirmed)"
    )
    complete: bool = Field(
        description="False when the advocate has more referrals than one summary reads "
        "(100): the figures then cover its oldest 100"
    )

    @classmethod
    def of(cls, summary: AdvocateSummary, share_base_url: str) -> AdvocateOut:
        advocate = summary.advocate
        return cls(
            advocate_id=advocate.advocate_id,
            program_id=advocate.program_id,
            customer_id=advocate.customer_id,
            referral_code=advocate.referral_code,
            share_url=f"{share_base_url}{advocate.referral_code}",
            variant=advocate.variant,
            referrals=dict(summary.referrals),
            rewards={
                figure: {kind: MoneyOut.of(t.amount, t.currency) for kind, t in totals.items()}
                for figure, totals in summary.rewards.items()
            },
            complete=summary.complete,
        )
