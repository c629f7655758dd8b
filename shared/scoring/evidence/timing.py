"""When the referral came, against the advocate's own rhythm: how long after their
previous referral, and how far from the hours their referrals usually come at.

A person shares a code when they talk to friends, in bursts and at their own hours; a
script or a farm works through its list on its own clock. Both read the advocate's
partition, which the velocity counts have already read.
"""

from __future__ import annotations

import math
from datetime import datetime

from shared.clock import parse_iso
from shared.scoring.evidence.source import EvidenceView, Found
from shared.scoring.thresholds import USUAL_HOUR_MIN_REFERRALS

# With no earlier referral, the gap is the advocate's whole tenure: a first referral is
# as unhurried as it gets.
_HOURS_ON_THE_CLOCK = 24.0


def advocate_timing(view: EvidenceView) -> Found:
    earlier = sorted(parse_iso(o.at) for o in view.advocate_referrals() if parse_iso(o.at) < view.t)
    since = (view.t - (earlier[-1] if earlier else view.advocate.enrolled_at)).total_seconds()
    distance = hour_distance(view.t, earlier) if len(earlier) >= USUAL_HOUR_MIN_REFERRALS else 0.0
    values = {
        "seconds_since_previous_referral": max(since, 0.0),
        "hours_from_usual_time": round(distance, 4),
    }
    return Found(values, {"advocate_earlier_referrals": len(earlier)})


def hour_distance(at: datetime, earlier: list[datetime]) -> float:
    """Hours (0..12) between `at`'s time of day and the circular mean of `earlier`'s."""
    angles = [_angle(t) for t in earlier]
    mean = math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))
    gap = abs(_angle(at) - mean) % (2 * math.pi)
    return min(gap, 2 * math.pi - gap) * _HOURS_ON_THE_CLOCK / (2 * math.pi)


def _angle(t: datetime) -> float:
    hours = t.hour + t.minute / 60 + t.second / 3600
    return 2 * math.pi * hours / _HOURS_ON_THE_CLOCK
