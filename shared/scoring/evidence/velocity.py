"""Velocity: how many referrals used the advocate's code, the referee's device, IP,
/24 network or card within a window centred on this referral.

A burst that starts right after a referral is as telling as one before it, and a
re-score sees it; windows are cut at `as_of`, never at the wall clock.
"""

from __future__ import annotations

from shared.scoring.evidence.identity import IdentityLinks, ids
from shared.scoring.evidence.source import EvidenceView, Found
from shared.scoring.thresholds import DAY, HOUR, WEEK

ADVOCATE_WINDOWS = (("1h", HOUR), ("24h", DAY), ("7d", WEEK))


def advocate_velocity(view: EvidenceView) -> Found:
    others = view.advocate_referrals()
    values: dict[str, float] = {}
    for name, window in ADVOCATE_WINDOWS:
        low, high = view.window(view.t, window)
        values[f"advocate_referrals_{name}"] = float(sum(1 for o in others if low <= o.at <= high))
    return Found(values, {})


def link_velocity(found: IdentityLinks) -> Found:
    values = {
        "device_referrals_24h": float(len(found.device.window_referrals)),
        "ip_referrals_24h": float(len(found.ip.window_referrals)),
        "ip_prefix_referrals_24h": float(len(found.prefix.window_referrals)),
        "payment_fingerprint_referrals_7d": float(len(found.payment.window_referrals)),
    }
    evidence = {
        "device_referees": ids(found.device.window_referrals.values()),
        "ip_referees": ids(found.ip.window_referrals.values()),
        "payment_referees": ids(found.payment.window_referrals.values()),
    }
    return Found(values, evidence)
