"""The figures kept per program for its stats, each moved by the change that makes it."""

from __future__ import annotations

from enum import StrEnum


class Counter(StrEnum):
    REFERRALS = "referrals"  # +1 per recorded referral (intake, self-referrals included)
    QUALIFIED = "qualified"  # +1 when a referral's first qualifying event is recorded
    FLAGGED = "flagged"  # +1 when a referral first enters review
    REJECTED = "rejected"  # +1 entering `rejected`, -1 leaving it (re-scoring may reopen)
    PAYOUTS = "payouts"  # +1 when a referral becomes `rewarded`
    PAYOUT_SECONDS = "payout_seconds"  # + seconds from its qualifying event to that moment


def paid_amount(kind: str) -> str:
    """Amount confirmed paid for a reward kind (minus clawbacks)."""
    return f"paid_amount_{kind}"


def paid_count(kind: str) -> str:
    """Rewards of that kind confirmed paid (minus clawbacks)."""
    return f"paid_count_{kind}"
