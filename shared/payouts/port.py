"""The payout port: what the reward domain asks of any gift-card or cash provider.

Exactly-once payment rests on three rules every provider here keeps:

1. The idempotency key is derived from the reward id (`idempotency_key_for`), never
   random, so every retry of the same reward carries the same key.
2. `create_order` with a key the provider already knows returns the original order;
   the same key with different terms (amount, currency, recipient, kind) raises
   `ProviderConflict` instead of paying again.
3. After an ambiguous failure (`ProviderOutcomeUnknown`: a 5xx or a timeout, when the
   order may or may not exist) the caller looks the key up with `find_order` before
   it retries. A retry with the same key is still safe, because of rule 2.

Errors form one hierarchy under `ProviderError` so a caller can tell "retry later"
(`ProviderRateLimited`), "look up, then retry" (`ProviderOutcomeUnknown`), "give up on
this payout" (`ProviderRejected`, `ProviderConflict`) and "fix the configuration"
(`ProviderMisconfigured`) apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, get_args

from shared.payouts.amounts import format_amount, is_currency, quantize

PayoutKind = Literal["gift_card", "cash", "charity_donation"]
PayoutStatus = Literal["pending", "sent", "confirmed", "failed"]

PAYOUT_KINDS: tuple[PayoutKind, ...] = get_args(PayoutKind)
PAYOUT_STATUSES: tuple[PayoutStatus, ...] = get_args(PayoutStatus)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class PayoutRequest:
    """One reward to pay, in the terms the provider is asked to honour."""

    idempotency_key: str
    reward_id: str
    kind: PayoutKind
    amount: Decimal
    currency: str
    recipient_email: str
    recipient_name: str | None = None
    message: str | None = None
    # The charity a donation pays (the provider's id for it); the recipient is told of it.
    charity: str | None = None

    def __post_init__(self) -> None:
        if not self.idempotency_key or self.idempotency_key != self.idempotency_key.strip():
            raise ValueError("idempotency_key must be a non-empty string without padding")
        if not self.reward_id:
            raise ValueError("reward_id must not be empty")
        if self.kind not in PAYOUT_KINDS:
            raise ValueError(f"kind must be one of {PAYOUT_KINDS}, not {self.kind!r}")
        # A float slipping in here would be rounded silently somewhere downstream.
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError("amount must be a finite Decimal")
        if self.amount <= 0:
            raise ValueError("amount must be positive")
        if not is_currency(self.currency):
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")
        quantize(self.amount, self.currency)
        if len(self.recipient_email) > 254 or not _EMAIL.match(self.recipient_email):
            raise ValueError("recipient_email is not an email address")
        if (self.kind == "charity_donation") != bool(self.charity and self.charity.strip()):
            raise ValueError("a charity_donation, and only a donation, names its charity")

    def terms(self) -> PayoutTerms:
        """What must match for a repeated key to count as the same payout."""
        return PayoutTerms.of(
            self.kind, self.amount, self.currency, self.recipient_email, charity=self.charity
        )


@dataclass(frozen=True)
class PayoutTerms:
    """The parts of a payout that decide whether two requests are the same payment.

    Name and message are left out: they are presentation, and a name may have been
    erased between two attempts without the payment changing.
    """

    kind: PayoutKind
    amount: str
    currency: str
    recipient: str
    charity: str | None = None

    @classmethod
    def of(
        cls,
        kind: PayoutKind,
        amount: Decimal,
        currency: str,
        email: str,
        *,
        charity: str | None = None,
    ) -> PayoutTerms:
        recipient = email.strip().casefold()
        return cls(kind, format_amount(amount, currency), currency, recipient, charity)

    def fingerprint(self) -> str:
        """Stable digest of the terms, so a store can compare without keeping the email.
        A donation's charity is part of it (other kinds' digests are as they always were)."""
        parts: tuple[str, ...] = (self.kind, self.amount, self.currency, self.recipient)
        if self.charity is not None:
            parts += (self.charity,)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class PayoutOrder:
    """The provider's record of one payout, as this service sees it."""

    provider: str
    idempotency_key: str
    provider_reference: str
    status: PayoutStatus
    amount: Decimal
    currency: str
    created_at: datetime
    failure_reason: str | None = None

    @property
    def counts_as_paid(self) -> bool:
        """Money has left (or is leaving) the merchant for this order."""
        return self.status != "failed"


class PayoutProvider(Protocol):
    """A gift-card or cash provider. Implementations: sandbox, Tremendous, PayPal."""

    @property
    def name(self) -> str: ...

    def create_order(self, request: PayoutRequest) -> PayoutOrder:
        """Pay once. A repeat with the same key returns the original order;
        the same key with different terms raises `ProviderConflict`."""
        ...

    def find_order(self, idempotency_key: str) -> PayoutOrder | None:
        """The order created with this key, or None if the provider has none.

        Reconciliation decides with this; it never re-issues blindly. PayPal cannot be
        asked by key, so its None means "not known here"; a create with the same key
        is still safe there within PayPal's 30-day duplicate window (see `paypal`)."""
        ...

    def get_order(self, provider_reference: str) -> PayoutOrder:
        """Current state of an order; raises `OrderNotFound` for an unknown reference."""
        ...

    def list_orders(self, since: datetime) -> Iterable[PayoutOrder]:
        """Orders created at or after `since`, for reconciliation."""
        ...


class ProviderError(Exception):
    """Base of everything a provider adapter raises about the provider."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(f"{provider}: {message}" if provider else message)
        self.provider = provider


class ProviderRateLimited(ProviderError):
    """HTTP 429: nothing was processed; retry after `retry_after_seconds`."""

    def __init__(
        self, retry_after_seconds: float, message: str = "rate limited", *, provider: str = ""
    ) -> None:
        super().__init__(f"{message} (retry after {retry_after_seconds:g}s)", provider=provider)
        self.retry_after_seconds = retry_after_seconds


class ProviderOutcomeUnknown(ProviderError):
    """The request may or may not have been processed: look the key up before retrying."""


class ProviderUnavailable(ProviderOutcomeUnknown):
    """HTTP 5xx or a broken connection."""


class ProviderTimeout(ProviderOutcomeUnknown):
    """No answer in time."""


class ProviderDuplicateUnlocated(ProviderOutcomeUnknown):
    """The provider already holds a payout for this key but did not say which one: the
    money may have gone out. Look the key up; never fail the entry on this answer."""


class ProviderRejected(ProviderError):
    """Permanent refusal of this payout (bad recipient, insufficient funds, invalid amount)."""

    def __init__(self, reason: str, *, provider: str = "") -> None:
        super().__init__(f"rejected: {reason}", provider=provider)
        self.reason = reason


class ProviderConflict(ProviderError):
    """The key is already used for a payout with different terms; nothing was paid again."""


class ProviderMisconfigured(ProviderError):
    """HTTP 401/403: credentials or account permissions are wrong; nothing was processed."""


class OrderNotFound(ProviderError):
    """No order with that provider reference."""


# --- idempotency keys ---------------------------------------------------------------

MAX_KEY_LENGTH: dict[str, int] = {
    # Tremendous documents no length limit for `external_id`; 63 keeps it comfortably
    # inside any column and identical to the PayPal form, so one rule serves both.
    "tremendous": 63,
    # PayPal: `sender_batch_id` allows 256 characters, but the key is also sent as the
    # item's `sender_item_id`, which allows 63.
    "paypal": 63,
}
DEFAULT_MAX_KEY_LENGTH = 63

_RAW_KEY_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def idempotency_key_for(reward_id: str, provider: str, attempt: int = 0) -> str:
    """The provider key for paying `reward_id`: deterministic, so retries reuse it.

    Readable ids give `rwd-<reward_id>`, so an operator can find the reward from the
    provider's dashboard. Ids too long or with other characters give
    `rwh-<40 hex of sha256(reward_id)>`; the two prefixes never collide. `attempt`
    (after a payout definitely failed and finance re-issues it) appends `.<n>`, which
    is the only way the same reward gets a second key.
    """
    if not reward_id:
        raise ValueError("reward_id must not be empty")
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    limit = MAX_KEY_LENGTH.get(provider, DEFAULT_MAX_KEY_LENGTH)
    suffix = f".{attempt}" if attempt else ""
    readable = f"rwd-{reward_id}{suffix}"
    if _RAW_KEY_SAFE.match(reward_id) and len(readable) <= limit:
        return readable
    digest = hashlib.sha256(reward_id.encode()).hexdigest()[:40]
    return f"rwh-{digest}{suffix}"
