"""Which provider a function builds for a reward kind, and whose secrets it reads for it."""

from __future__ import annotations

import pytest

from shared.adapters.payout_providers import provider_from_environment
from shared.storage.memory_table import MemoryTable

PAYPAL_ID = "/rewards/paypal-client-id"
PAYPAL_SECRET = "/rewards/paypal-client-secret"
TREMENDOUS_KEY = "/rewards/tremendous-api-key"

BOTH_REAL = {
    "GIFT_CARD_PROVIDER": "tremendous",
    "CASH_PROVIDER": "paypal",
    "TREMENDOUS_API_KEY_PARAMETER": TREMENDOUS_KEY,
    "TREMENDOUS_PRODUCTS": "prod_a",
    "PAYPAL_CLIENT_ID_PARAMETER": PAYPAL_ID,
    "PAYPAL_CLIENT_SECRET_PARAMETER": PAYPAL_SECRET,
}


class Secrets:
    """SSM as one function's policy sees it: some parameters readable, the rest denied."""

    def __init__(self, readable: set[str]) -> None:
        self.readable = readable
        self.read: list[str] = []

    def __call__(self, name: str) -> str:
        self.read.append(name)
        if name not in self.readable:
            raise PermissionError(f"not allowed to read {name}")
        return f"value-of-{name}"


def test_the_gift_card_provider_is_built_without_reading_the_paypal_secrets() -> None:
    # Given a function that may read the Tremendous key only
    secrets = Secrets({TREMENDOUS_KEY})

    # When it builds the gift-card provider
    provider = provider_from_environment("gift_card", MemoryTable(), BOTH_REAL, secrets)

    # Then it pays through Tremendous, having read the Tremendous key alone
    assert provider.name == "tremendous"
    assert secrets.read == [TREMENDOUS_KEY]


def test_the_cash_provider_is_built_without_reading_the_tremendous_key() -> None:
    # Given a function that may read the PayPal secrets only
    secrets = Secrets({PAYPAL_ID, PAYPAL_SECRET})

    # When it builds the cash provider
    provider = provider_from_environment("cash", MemoryTable(), BOTH_REAL, secrets)

    # Then it pays through PayPal, having read the PayPal secrets alone
    assert provider.name == "paypal"
    assert sorted(secrets.read) == sorted([PAYPAL_ID, PAYPAL_SECRET])


def test_a_sandbox_gift_card_provider_reads_no_secret_while_cash_goes_through_paypal() -> None:
    # Given gift cards in the sandbox and cash through PayPal, and no readable secret
    secrets = Secrets(set())
    env = {**BOTH_REAL, "GIFT_CARD_PROVIDER": "sandbox"}

    # When the gift-card provider is built
    provider = provider_from_environment("gift_card", MemoryTable(), env, secrets)

    # Then it is the sandbox, and nothing was read
    assert provider.name.startswith("sandbox")
    assert secrets.read == []


def test_an_unknown_reward_kind_has_no_provider() -> None:
    with pytest.raises(RuntimeError, match="voucher"):
        provider_from_environment("voucher", MemoryTable(), BOTH_REAL, Secrets(set()))


def test_donations_default_to_the_sandbox_charity_provider_reading_no_secret() -> None:
    secrets = Secrets(set())

    provider = provider_from_environment("charity_donation", MemoryTable(), BOTH_REAL, secrets)

    assert provider.name == "sandbox_charity"
    assert secrets.read == []


def test_donations_through_tremendous_read_the_tremendous_key_alone_and_need_no_products() -> None:
    # Given donations through Tremendous, with no gift-card products configured
    secrets = Secrets({TREMENDOUS_KEY})
    env = {**BOTH_REAL, "CHARITY_PROVIDER": "tremendous", "TREMENDOUS_PRODUCTS": ""}

    # When the charity provider is built
    provider = provider_from_environment("charity_donation", MemoryTable(), env, secrets)

    # Then it pays through Tremendous, having read the Tremendous key alone
    assert provider.name == "tremendous"
    assert secrets.read == [TREMENDOUS_KEY]


def test_an_unknown_charity_provider_is_a_configuration_error() -> None:
    env = {**BOTH_REAL, "CHARITY_PROVIDER": "givewell"}

    with pytest.raises(RuntimeError, match="CHARITY_PROVIDER"):
        provider_from_environment("charity_donation", MemoryTable(), env, Secrets(set()))
