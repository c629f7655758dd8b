"""What the evidence index says was seen, and how a referral ended, as features read them.

Plain tuples rather than models: one scoring reads dozens of sightings and the hourly
re-score reads them all again, so they are never validated one by one.
"""

from __future__ import annotations

from typing import NamedTuple

from shared.domain.referrals import ReferralStatus


class Seen(NamedTuple):
    """One evidence-index observation, as stored (`at` is the sortable ISO instant)."""

    at: str
    program_id: str
    advocate_id: str
    referral_id: str | None
    customer_id: str
    role: str


class ReferralOutcome(NamedTuple):
    """A referral's status and whether it was clawed back after payout."""

    status: ReferralStatus
    clawed_back: bool
