"""Events clients report on a referral: signups and purchases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict


class ReferralEvent(BaseModel):
    model_config = ConfigDict(defer_build=True)

    referral_id: str
    type: Literal["signup", "purchase"]
    order_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    payment_fingerprint: str | None = None
    occurred_at: datetime
    recorded_at: datetime
    qualifying: bool
    # Hash of the request body, so a replay can be told from a conflicting reuse of an order id.
    body_hash: str

    @property
    def dedupe_key(self) -> str:
        return self.order_id if self.order_id is not None else f"{self.type}"


class DuplicateEvent(Exception):
    """An event with this order id (or of this type, without one) is already recorded."""

    def __init__(self, referral_id: str, dedupe_key: str) -> None:
        super().__init__(f"{referral_id}/{dedupe_key}")
        self.referral_id = referral_id
        self.dedupe_key = dedupe_key
