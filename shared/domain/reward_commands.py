"""What a client or finance asks of the reward ledger, once the request is validated.

The HTTP schemas (`shared.schemas.rewards`) turn a request body into one of these, so the
services speak of a refund or a reissue, never of a request model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class RecordRefund:
    """A refund of (part of) one order reported on a referral."""

    order_id: str
    currency: str
    amount: Decimal
    # When the refund happened; None means now.
    occurred_at: datetime | None = None
    # The refund's own id: the same id again (for this order) is a replay.
    refund_id: str | None = None


@dataclass(frozen=True)
class Reissue:
    """Finance pays a failed entry again, as a new attempt."""

    note: str
    # Pay this attempt to this address instead of the recipient's own.
    recipient_email: str | None = None


@dataclass(frozen=True)
class Reverse:
    """Finance reverses a referral without a refund."""

    note: str
