"""Conditions on a referral that a change of something else depends on.

A reissued entry may only be queued while its referral is still `rewarding`: a reversal
committed meanwhile must not be followed by a new payout.
"""

from __future__ import annotations

from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import ReferralNotRewarding
from shared.repositories import keys
from shared.repositories.unit_of_work import Changes
from shared.storage.table import Check, Equals


class ReferralGuards:
    @staticmethod
    def still_rewarding(referral_id: str, *, within: Changes) -> None:
        """Commit `within` only while the referral is `rewarding`; otherwise the commit
        raises `ReferralNotRewarding`."""
        pk, sk = keys.referral(referral_id)
        within.stage(
            Check(pk, sk, Equals("status", ReferralStatus.REWARDING.value)),
            lambda: ReferralNotRewarding(referral_id),
        )
