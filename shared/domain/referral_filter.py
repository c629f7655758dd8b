"""Which referrals a merchant's list returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.referrals import ReferralStatus


@dataclass(frozen=True)
class ReferralFilter:
    """Which referrals a list returns: of a program, an advocate, or both; optionally in
    one status and occurred in [since, until]."""

    program_id: str | None = None
    advocate_id: str | None = None
    status: ReferralStatus | None = None
    since: datetime | None = None
    until: datetime | None = None

    def admits_time(self, at: datetime) -> bool:
        return (self.since is None or at >= self.since) and (self.until is None or at <= self.until)
