"""Referrals and their life cycle."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.evidence import Fingerprint


class ReferralStatus(StrEnum):
    PENDING = "pending"
    HOLDING = "holding"
    REVIEW = "review"
    REJECTED = "rejected"
    REWARDING = "rewarding"
    REWARDED = "rewarded"
    REVERSED = "reversed"
    EXPIRED = "expired"


S = ReferralStatus
# Which moves the life cycle allows; everything else is a bug or a race and is refused.
TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.PENDING: frozenset({S.HOLDING, S.REVIEW, S.REJECTED, S.EXPIRED, S.REVERSED}),
    # holding -> rewarded: a release with nothing to pay (the advocate's cap withheld the
    # only reward) ends the referral at once.
    S.HOLDING: frozenset({S.HOLDING, S.REVIEW, S.REJECTED, S.REWARDING, S.REWARDED, S.REVERSED}),
    S.REVIEW: frozenset({S.REVIEW, S.HOLDING, S.REJECTED, S.REVERSED}),
    S.REJECTED: frozenset({S.REVIEW, S.HOLDING}),
    S.REWARDING: frozenset({S.REWARDED, S.REVERSED}),
    S.REWARDED: frozenset({S.REVERSED}),
    S.REVERSED: frozenset(),
    S.EXPIRED: frozenset(),
}
UNPAID = frozenset({S.PENDING, S.HOLDING, S.REVIEW})


def can_move(current: ReferralStatus, target: ReferralStatus) -> bool:
    return target in TRANSITIONS[current]


class IllegalMove(Exception):
    """A status change the life cycle does not allow: a bug or a lost race, never data."""

    def __init__(self, referral_id: str, current: ReferralStatus, target: ReferralStatus) -> None:
        super().__init__(f"referral {referral_id} cannot move from {current} to {target}")
        self.referral_id = referral_id
        self.current = current
        self.target = target


Decision = Literal["approve", "review", "reject"]


class Reason(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class Risk(BaseModel):
    model_config = ConfigDict(defer_build=True)

    score: Decimal
    decision: Decision
    reasons: list[Reason]
    model_version: str
    scored_at: datetime


class Approval(BaseModel):
    """One finance user's approval of a referral under review."""

    model_config = ConfigDict(defer_build=True)

    by: str
    at: datetime


class Referral(BaseModel):
    model_config = ConfigDict(defer_build=True)

    referral_id: str
    program_id: str
    advocate_id: str
    advocate_customer_id: str
    referral_code: str
    referee_customer_id: str
    # Kept raw only because the referee's reward is delivered to it; erased on request.
    referee_email: str | None = None
    fingerprint: Fingerprint
    status: ReferralStatus
    risk: Risk | None = None
    occurred_at: datetime
    recorded_at: datetime
    updated_at: datetime
    qualified_at: datetime | None = None
    qualifying_order_id: str | None = None
    qualifying_amount: Decimal | None = None
    # Finance review: approvals so far, the final decision, and when the review opened.
    approvals: list[Approval] = Field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    review_opened_at: datetime | None = None
    # Set when a refund reversed the referral after its rewards had gone out.
    clawed_back_at: datetime | None = None
    # Why a due release is waiting (budget exhausted, program paused), and since when;
    # cleared by the next move.
    hold_reason: str | None = None
    hold_since: datetime | None = None
    version: int = 1
    # The advocate's incentive variant, copied at intake: it picks the rewards at release
    # and the figures the referral counts in.
    variant: str = "default"

    def move(self, to: ReferralStatus, at: datetime, **changes: Any) -> Referral:
        """The referral in `to`, one version on: the only way its status changes.

        Refuses what `TRANSITIONS` does not allow; `changes` are the fields the move sets
        with it (a risk, a decision, a clawback time). Any hold note ends with the move.
        """
        if not can_move(self.status, to):
            raise IllegalMove(self.referral_id, self.status, to)
        update = {"hold_reason": None, "hold_since": None, **changes}
        return self.model_copy(
            update={**update, "status": to, "updated_at": at, "version": self.version + 1}
        )

    def held(self, reason: str, at: datetime) -> Referral:
        """Still in its status, with the reason its release waits; the same reason again
        changes nothing (one note per reason, not one per run)."""
        if self.hold_reason == reason:
            return self
        return self.model_copy(
            update={
                "hold_reason": reason,
                "hold_since": at,
                "updated_at": at,
                "version": self.version + 1,
            }
        )

    def changed(self, at: datetime, **changes: Any) -> Referral:
        """The referral with `changes` that leave its status alone (approvals so far, the
        qualifying order), one version on."""
        if "status" in changes:
            raise ValueError("a status changes only through Referral.move")
        return self.model_copy(update={**changes, "updated_at": at, "version": self.version + 1})

    def attribution_deadline(self, window_days: int) -> datetime:
        return self.occurred_at + timedelta(days=window_days)
