"""Advocates: customers enrolled in a program with a referral code to share."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.domain.evidence import Fingerprint


class Advocate(BaseModel):
    model_config = ConfigDict(defer_build=True)

    advocate_id: str
    program_id: str
    customer_id: str
    # Kept raw only because the advocate's reward is delivered to it; erased on request.
    email: str | None = None
    referral_code: str
    fingerprint: Fingerprint
    enrolled_at: datetime
    recorded_at: datetime
    rewarded_referrals: int = 0
    erased: bool = False
