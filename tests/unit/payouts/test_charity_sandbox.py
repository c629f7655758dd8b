"""The sandbox charity provider, and what a donation request must say."""

import hashlib
from decimal import Decimal

import pytest

from shared.payouts.port import ProviderConflict
from shared.payouts.sandbox import SandboxCharityProvider

from .fakes import clock_at_start, payout_request


def donation(charity="red-cross", **options):
    return payout_request(kind="charity_donation", charity=charity, **options)


def test_a_donation_repeated_with_the_same_key_is_made_once():
    # Given a donation already made for a reward
    provider = SandboxCharityProvider(clock=clock_at_start())
    first = provider.create_order(donation())

    # When the same request comes again
    again = provider.create_order(donation())

    # Then it is the same, confirmed order and only one was made
    assert again.provider_reference == first.provider_reference
    assert first.status == "confirmed"
    assert provider.total_paid("USD") == Decimal("10.00")


def test_the_same_key_for_another_charity_is_a_conflict_and_gives_nothing_more():
    provider = SandboxCharityProvider(clock=clock_at_start())
    provider.create_order(donation(charity="red-cross"))

    with pytest.raises(ProviderConflict):
        provider.create_order(donation(charity="unicef"))

    assert len(provider.ledger_of_orders()) == 1


def test_a_charity_provider_pays_no_gift_card():
    with pytest.raises(ValueError, match="charity_donation"):
        SandboxCharityProvider(clock=clock_at_start()).create_order(payout_request())


@pytest.mark.parametrize("charity", [None, "", "   "])
def test_a_donation_request_names_its_charity(charity):
    with pytest.raises(ValueError, match="charity"):
        donation(charity=charity)


def test_only_a_donation_request_names_a_charity():
    with pytest.raises(ValueError, match="charity"):
        payout_request(kind="gift_card", charity="red-cross")


def test_a_gift_card_fingerprint_does_not_change_with_donations():
    # Orders stored before donations existed must still match their own repeats.
    terms = payout_request().terms()

    assert terms.charity is None
    before = "\x1f".join(("gift_card", "10.00", "USD", "ada@example.com"))
    assert terms.fingerprint() == hashlib.sha256(before.encode()).hexdigest()
