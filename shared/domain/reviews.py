"""Finance review: who may decide a flagged referral, and what each decision does.

A referral in `review` is approved by one finance user, or by two different ones when the
rewards it would pay exceed the program's `dual_approval_over`. One rejection settles it.
Every rule here is a pure function of the referral, the program and the actor; the service
writes the result conditionally on the version it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.programs import Program
from shared.domain.referrals import Approval, Reason, Referral, ReferralStatus
from shared.errors import Conflict

ReviewDecision = Literal["approve", "reject"]
TIMEOUT_ACTOR = "system:expire-reviews"

__all__ = [
    "TIMEOUT_ACTOR",
    "AlreadyApproved",
    "Approval",
    "DecisionOutcome",
    "NotUnderReview",
    "OpenReview",
    "ReviewDecision",
    "ReviewFilter",
    "ReviewLabel",
    "TimeoutRejection",
    "approvals_needed",
    "decide",
    "enter_review",
    "expire",
    "review_deadline",
    "review_opened_at",
    "rewards_total",
]


@dataclass(frozen=True)
class ReviewFilter:
    """Which open reviews a reviewer asks for: of one program, from a score, with a reason."""

    program_id: str | None = None
    min_score: Decimal | None = None
    reason: str | None = None


class NotUnderReview(Conflict):
    """Decisions are taken only on referrals in `review`."""

    title = "Not under review"


class AlreadyApproved(Conflict):
    """The same person cannot supply both approvals of a dual approval."""

    title = "Already approved by this user"


def rewards_total(
    program: Program, advocate_rewarded_referrals: int, variant: str = "default"
) -> Decimal:
    """What approving this referral would pay: both rewards and the tier bonus it would earn.

    The tier is the one the advocate crosses with this referral as their next rewarded one;
    the per-advocate cap is ignored on purpose, so the threshold errs towards a second look.
    """
    total = Decimal(0)
    for terms in program.rewards_of(variant):
        if terms is not None:
            total += terms.amount
    tier = program.tier_bonus_for(advocate_rewarded_referrals + 1)
    if tier is not None:
        total += tier.advocate_bonus.amount
    return total


def approvals_needed(program: Program, total: Decimal) -> int:
    threshold = program.dual_approval_over
    return 2 if threshold is not None and total > threshold else 1


@dataclass(frozen=True)
class DecisionOutcome:
    referral: Referral  # the new state, version already advanced
    action: str  # the audit action
    final: bool  # whether the review is closed


def _check_open(referral: Referral) -> None:
    if referral.status != ReferralStatus.REVIEW:
        raise NotUnderReview(
            f"referral {referral.referral_id} is {referral.status.value}, not under review"
        )


def decide(
    referral: Referral,
    decision: ReviewDecision,
    *,
    actor: str,
    at: datetime,
    needed: int,
    note: str | None = None,
) -> DecisionOutcome:
    """Apply one finance user's decision to a referral under review."""
    _check_open(referral)
    if decision == "reject":
        rejected = referral.move(
            ReferralStatus.REJECTED, at, decided_by=actor, decided_at=at, decision_note=note
        )
        return DecisionOutcome(rejected, "review.rejected", final=True)
    if any(approval.by == actor for approval in referral.approvals):
        raise AlreadyApproved(
            f"{actor} has already approved referral {referral.referral_id}; "
            "a second, different finance user must complete the approval"
        )
    approvals = [*referral.approvals, Approval(by=actor, at=at)]
    if len(approvals) < needed:
        waiting = referral.changed(at, approvals=approvals)
        return DecisionOutcome(waiting, "review.approval_recorded", final=False)
    # The holding period keeps running from the qualifying event, not from this decision.
    approved = referral.move(
        ReferralStatus.HOLDING,
        at,
        approvals=approvals,
        decided_by=actor,
        decided_at=at,
        decision_note=note,
    )
    return DecisionOutcome(approved, "review.approved", final=True)


def review_opened_at(referral: Referral) -> datetime:
    """When the review opened; older records fall back to the scoring or qualifying time."""
    if referral.review_opened_at is not None:
        return referral.review_opened_at
    if referral.risk is not None:
        return referral.risk.scored_at
    return referral.qualified_at or referral.updated_at


def review_deadline(referral: Referral, program: Program) -> datetime:
    return review_opened_at(referral) + timedelta(days=program.review_timeout_days)


# Why a timeout rejects a referral whatever the program's timeout action says: approving it
# needs two people, or a firm rule holds it for a person's decision.
TimeoutRejection = Literal["dual_approval", "firm_rule"]
_TIMEOUT_REJECTION_NOTES: dict[str, str] = {
    "dual_approval": "rejected: it needs two approvals and a timeout is none",
    "firm_rule": "rejected: a firm rule holds it for a person's decision",
}


def expire(
    referral: Referral,
    program: Program,
    at: datetime,
    *,
    reject_because: TimeoutRejection | None = None,
) -> DecisionOutcome:
    """Resolve a review left undecided past the program's timeout by its configured action,
    except that a referral needing dual approval or held by a firm rule is rejected."""
    _check_open(referral)
    approve = program.review_timeout_action == "approve" and reject_because is None
    target = ReferralStatus.HOLDING if approve else ReferralStatus.REJECTED
    note = (
        f"no decision within {program.review_timeout_days} days; "
        f"the program's timeout action is {program.review_timeout_action}"
    )
    if reject_because is not None and program.review_timeout_action == "approve":
        note = f"{note}; {_TIMEOUT_REJECTION_NOTES[reject_because]}"
    resolved = referral.move(
        target, at, decided_by=TIMEOUT_ACTOR, decided_at=at, decision_note=note
    )
    action = "review.timeout_approved" if approve else "review.timeout_rejected"
    return DecisionOutcome(resolved, action, final=True)


def enter_review(referral: Referral, at: datetime, **changes: Any) -> Referral:
    """The referral moved (or kept) in review with `changes`: keep the opening time, and
    restart approvals when it arrives from another status, since they were given on other
    evidence."""
    if referral.status == ReferralStatus.REVIEW:
        opened = referral.review_opened_at or at
        return referral.move(ReferralStatus.REVIEW, at, review_opened_at=opened, **changes)
    return referral.move(
        ReferralStatus.REVIEW,
        at,
        review_opened_at=at,
        approvals=[],
        decided_by=None,
        decided_at=None,
        decision_note=None,
        **changes,
    )


class OpenReview(BaseModel):
    """What the review list shows without reading the referral: one row per open review."""

    model_config = ConfigDict(defer_build=True)

    referral_id: str
    program_id: str
    advocate_id: str
    score: Decimal
    decision: str
    reasons: list[Reason]
    model_version: str
    opened_at: datetime
    qualified_at: datetime | None
    approvals: list[Approval]


class ReviewLabel(BaseModel):
    """A reviewer's final decision, kept as a training label with what the scorer saw."""

    model_config = ConfigDict(defer_build=True)

    label_id: str
    referral_id: str
    program_id: str
    decision: ReviewDecision
    fraud: bool
    decided_by: list[str]
    decided_at: datetime
    score: Decimal | None
    model_version: str | None
    reason_codes: list[str]
    features: dict[str, float] | None = None
