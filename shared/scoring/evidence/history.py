"""The advocate's history: how their earlier referrals ended, and how long they have
been an advocate."""

from __future__ import annotations

from shared.domain.referrals import ReferralStatus
from shared.scoring.evidence.source import EvidenceView, Found
from shared.scoring.thresholds import REVERSAL_LOOKBACK, REVERSAL_PRIOR

DECIDED = frozenset(
    {
        ReferralStatus.HOLDING,
        ReferralStatus.REWARDING,
        ReferralStatus.REWARDED,
        ReferralStatus.REVERSED,
        ReferralStatus.REJECTED,
    }
)
BAD_OUTCOME = frozenset({ReferralStatus.REVERSED, ReferralStatus.REJECTED})


def advocate_history(view: EvidenceView) -> Found:
    decided, bad, clawed_back = outcomes(view)
    tenure = (view.t - view.advocate.enrolled_at).total_seconds() / 86400
    values = {
        "advocate_reversal_rate": round(bad / (decided + REVERSAL_PRIOR), 4),
        "advocate_tenure_days": round(max(tenure, 0.0), 6),
    }
    evidence = {
        "advocate_decided_referrals": decided,
        "advocate_reversed_or_rejected": bad,
        "advocate_clawed_back": clawed_back,
    }
    return Found(values, evidence)


def outcomes(view: EvidenceView) -> tuple[int, int, int]:
    """Of the advocate's REVERSAL_LOOKBACK latest other referrals: how many are decided,
    how many of those went badly, and how many were clawed back after payout."""
    # Ordered by time then customer, not by the stored key's random id tie-break.
    past = sorted(view.advocate_referrals(), key=lambda o: (o.at, o.customer_id))
    decided = bad = clawed_back = 0
    for referral_id in [o.referral_id for o in past[-REVERSAL_LOOKBACK:] if o.referral_id]:
        outcome = view.source.outcome(referral_id)
        if outcome is not None and outcome.status in DECIDED:
            decided += 1
            bad += outcome.status in BAD_OUTCOME
            clawed_back += outcome.clawed_back
    return decided, bad, clawed_back
