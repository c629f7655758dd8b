"""Finance models: reviews and decisions, audit entries, the blocklist, program stats and
customer erasure."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from shared.domain.audit import AuditEntry
from shared.domain.blocklist import BlocklistEntry
from shared.domain.referrals import Approval, Decision, ReferralStatus
from shared.domain.reviews import OpenReview
from shared.ports import BlockKind
from shared.schemas.common import Identifier, MoneyOut, Out, Strict, Timestamp
from shared.schemas.experiments import ComparisonOut, VariantStatsOut
from shared.schemas.referrals import ReasonOut, RiskOut

if TYPE_CHECKING:  # only the `of` builders use them: the catalogue stays light to import
    from shared.services.customers import Erasure
    from shared.services.reviews import Decided, ReviewDetail
    from shared.services.stats import ProgramStats

# --- requests and query strings ---------------------------------------------------------------


class ReviewQuery(Strict):
    status: Literal["open"] = "open"
    program_id: Identifier | None = None
    min_score: Decimal | None = Field(default=None, ge=0, le=100)
    reason: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$"
    )


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, min_length=1, max_length=2000)


class AuditQuery(Strict):
    referral_id: Identifier | None = None
    program_id: Identifier | None = None


class BlocklistIn(Strict):
    kind: BlockKind
    value: str = Field(min_length=1, max_length=512)
    note: str | None = Field(default=None, min_length=1, max_length=500)


# --- responses ----------------------------------------------------------------------------------


class ApprovalOut(Out):
    by: str
    at: Timestamp

    @classmethod
    def of(cls, approval: Approval) -> ApprovalOut:
        return cls(by=approval.by, at=approval.at)


class OpenReviewOut(Out):
    referral_id: str
    program_id: str
    advocate_id: str
    status: Literal["open"] = "open"
    score: float = Field(ge=0, le=100)
    decision: str
    reasons: list[ReasonOut]
    model_version: str
    opened_at: Timestamp
    qualified_at: Timestamp | None
    approvals: list[ApprovalOut]

    @classmethod
    def of(cls, review: OpenReview) -> OpenReviewOut:
        return cls(
            referral_id=review.referral_id,
            program_id=review.program_id,
            advocate_id=review.advocate_id,
            score=float(review.score),
            decision=review.decision,
            reasons=[ReasonOut(**r.model_dump()) for r in review.reasons],
            model_version=review.model_version,
            opened_at=review.opened_at,
            qualified_at=review.qualified_at,
            approvals=[ApprovalOut.of(a) for a in review.approvals],
        )


class SharedValueOut(Out):
    kind: str
    value_hash: str
    parties: int
    with_advocate: bool
    truncated: bool


class LinkedAccountOut(Out):
    role: Literal["advocate", "referee"]
    referral_id: str | None
    advocate_id: str
    customer_id: str
    program_id: str
    status: ReferralStatus | None
    via: list[str]
    first_seen: Timestamp | None


class EvidenceOut(Out):
    shared: list[SharedValueOut]
    linked_accounts: list[LinkedAccountOut]


class TimelineEntryOut(Out):
    at: Timestamp
    kind: Literal["referral", "event", "scoring", "audit"]
    summary: str
    actor: str | None
    details: dict[str, Any]


class ReviewDetailOut(Out):
    referral_id: str
    program_id: str
    advocate_id: str
    referee_customer_id: str
    status: ReferralStatus
    risk: RiskOut | None
    rewards_total: MoneyOut
    approvals: list[ApprovalOut]
    approvals_needed: int
    deadline: Timestamp
    qualified_at: Timestamp | None
    evidence: EvidenceOut
    timeline: list[TimelineEntryOut]

    @classmethod
    def of(cls, detail: ReviewDetail) -> ReviewDetailOut:
        referral = detail.referral
        risk = RiskOut.of(referral.risk)
        return cls(
            referral_id=referral.referral_id,
            program_id=referral.program_id,
            advocate_id=referral.advocate_id,
            referee_customer_id=referral.referee_customer_id,
            status=referral.status,
            risk=risk,
            rewards_total=MoneyOut.of(detail.rewards_total, detail.program.currency),
            approvals=[ApprovalOut.of(a) for a in referral.approvals],
            approvals_needed=detail.approvals_needed,
            deadline=detail.deadline,
            qualified_at=referral.qualified_at,
            evidence=EvidenceOut(
                shared=[SharedValueOut(**s.__dict__) for s in detail.shared],
                linked_accounts=[
                    LinkedAccountOut(
                        role=a.role,
                        referral_id=a.referral_id,
                        advocate_id=a.advocate_id,
                        customer_id=a.customer_id,
                        program_id=a.program_id,
                        status=ReferralStatus(a.status) if a.status else None,
                        via=a.via,
                        first_seen=a.first_seen,
                    )
                    for a in detail.linked
                ],
            ),
            timeline=[
                TimelineEntryOut(
                    at=t.at,
                    kind=t.kind,
                    summary=t.summary,
                    actor=t.actor,
                    details=t.details,
                )
                for t in detail.timeline
            ],
        )


class DecisionOut(Out):
    referral_id: str
    status: ReferralStatus
    approvals: list[ApprovalOut]
    approvals_needed: int
    decided_by: str | None
    decided_at: Timestamp | None
    risk_decision: Decision | None

    @classmethod
    def of(cls, decided: Decided) -> DecisionOut:
        referral = decided.referral
        return cls(
            referral_id=referral.referral_id,
            status=referral.status,
            approvals=[ApprovalOut.of(a) for a in referral.approvals],
            approvals_needed=decided.approvals_needed,
            decided_by=referral.decided_by,
            decided_at=referral.decided_at,
            risk_decision=referral.risk.decision if referral.risk else None,
        )


class AuditEntryOut(Out):
    entry_id: str
    at: Timestamp
    actor: str
    action: str
    referral_id: str | None
    program_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(**entry.model_dump(mode="json"))


class BlocklistEntryOut(Out):
    entry_id: str
    kind: BlockKind
    value_hash: str
    hint: str
    note: str | None
    created_by: str
    created_at: Timestamp

    @classmethod
    def of(cls, entry: BlocklistEntry) -> BlocklistEntryOut:
        return cls(**entry.model_dump())


class PaidOut(Out):
    kind: str
    count: int
    amount: str
    currency: str


class ProgramStatsOut(Out):
    program_id: str
    referrals: int
    qualifying_conversions: int
    conversion_rate: float | None = Field(description="qualifying conversions per referral")
    rewards_paid: list[PaidOut]
    rewards_paid_total: MoneyOut
    budget: MoneyOut
    budget_used: MoneyOut
    budget_left: MoneyOut
    flagged: int
    rejected: int
    fraud_rate: float | None = Field(description="rejected referrals per referral")
    mean_time_to_payout_seconds: int | None = Field(
        description="from the qualifying event to the referral's rewards confirmed"
    )
    variants: list[VariantStatsOut] = Field(
        description="Per incentive variant (default included once it has advocates)"
    )
    comparison: ComparisonOut | None = Field(
        description="The leading variant by conversion rate against the runner-up; null "
        "with fewer than two variants that have referrals"
    )

    @classmethod
    def of(cls, stats: ProgramStats) -> ProgramStatsOut:
        program = stats.program
        currency = program.currency

        def rate(value: Decimal | None) -> float | None:
            return None if value is None else float(value)

        mean = stats.mean_seconds_to_payout
        return cls(
            program_id=program.program_id,
            referrals=stats.referrals,
            qualifying_conversions=stats.qualified,
            conversion_rate=rate(stats.conversion_rate),
            rewards_paid=[
                PaidOut(
                    kind=p.kind,
                    count=p.count,
                    amount=MoneyOut.of(p.amount, currency).amount,
                    currency=currency,
                )
                for p in stats.paid
            ],
            rewards_paid_total=MoneyOut.of(stats.paid_total, currency),
            budget=MoneyOut.of(program.budget_total, currency),
            budget_used=MoneyOut.of(program.budget_used, currency),
            budget_left=MoneyOut.of(program.budget_left, currency),
            flagged=stats.flagged,
            rejected=stats.rejected,
            fraud_rate=rate(stats.fraud_rate),
            mean_time_to_payout_seconds=None if mean is None else int(mean),
            variants=[VariantStatsOut.of(v, currency) for v in stats.variants],
            comparison=ComparisonOut.of(stats.comparison),
        )


class ErasureOut(Out):
    customer_id: str
    erased_at: Timestamp
    advocates_erased: int
    referrals_erased: int
    already_erased: int

    @classmethod
    def of(cls, erasure: Erasure) -> ErasureOut:
        return cls(
            customer_id=erasure.customer_id,
            erased_at=erasure.erased_at,
            advocates_erased=len(erasure.advocates),
            referrals_erased=len(erasure.referrals),
            already_erased=erasure.already_erased,
        )
