"""Paying rewards through gift-card and cash providers, exactly once.

`port` is the contract the domain codes against; `sandbox` provides offline providers
with fault injection; `tremendous` and `paypal` are the real adapters over `http`.
"""

from shared.payouts.port import (
    OrderNotFound,
    PayoutKind,
    PayoutOrder,
    PayoutProvider,
    PayoutRequest,
    PayoutStatus,
    PayoutTerms,
    ProviderConflict,
    ProviderDuplicateUnlocated,
    ProviderError,
    ProviderMisconfigured,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    idempotency_key_for,
)

__all__ = [
    "OrderNotFound",
    "PayoutKind",
    "PayoutOrder",
    "PayoutProvider",
    "PayoutRequest",
    "PayoutStatus",
    "PayoutTerms",
    "ProviderConflict",
    "ProviderDuplicateUnlocated",
    "ProviderError",
    "ProviderMisconfigured",
    "ProviderOutcomeUnknown",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderTimeout",
    "ProviderUnavailable",
    "idempotency_key_for",
]
