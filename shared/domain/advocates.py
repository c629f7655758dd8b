"""Advocates: customers enrolled in a program with a referral code to share."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.domain.changes import Contention
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
    # The incentive variant assigned at enrolment, kept for good; `default` is the
    # program's own rewards (and every advocate enrolled before the program had variants).
    variant: str = "default"

    @property
    def contact_erased(self) -> bool:
        """The raw email was dropped on the customer's request."""
        return self.email is None and self.erased

    def without_contact(self) -> Advocate:
        """The advocate with its raw email dropped (hashes stay, so fraud links survive)."""
        return self.model_copy(update={"email": None, "erased": True})


class AlreadyEnrolled(Exception):
    """The customer is already enrolled in the program, as the advocate named."""

    def __init__(self, advocate_id: str) -> None:
        super().__init__(advocate_id)
        self.advocate_id = advocate_id


class CodeTaken(Exception):
    """The generated referral code is in use; draw another."""


class AdvocateChanged(Contention):
    """The advocate's record changed since it was read."""

    def __init__(self, advocate_id: str) -> None:
        super().__init__(advocate_id)
        self.advocate_id = advocate_id
