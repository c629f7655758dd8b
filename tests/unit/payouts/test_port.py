"""The payout contract: requests, terms, keys and amounts."""

from dataclasses import replace
from decimal import Decimal

import pytest

from shared.payouts.amounts import format_amount, minor_units
from shared.payouts.port import PayoutTerms, idempotency_key_for

from .fakes import payout_request


def test_key_for_a_readable_reward_id_names_the_reward():
    # Given a ULID reward id / When the key is derived / Then it is the id behind a prefix
    key = idempotency_key_for("01JBW5XGQ2R8ZJ4N6T3K9M0PCE", "tremendous")

    assert key == "rwd-01JBW5XGQ2R8ZJ4N6T3K9M0PCE"


def test_key_is_the_same_every_time_for_the_same_reward():
    assert idempotency_key_for("r-42", "paypal") == idempotency_key_for("r-42", "paypal")


def test_key_for_an_unsafe_or_long_reward_id_is_a_digest_within_paypal_item_limit():
    # Given ids PayPal's 63-character sender_item_id could not carry as they are
    unsafe = idempotency_key_for("reward/with spaces", "paypal")
    long = idempotency_key_for("x" * 80, "paypal")

    # Then both become a fixed-length digest key that cannot collide with readable keys
    assert unsafe.startswith("rwh-") and len(unsafe) == 44
    assert long.startswith("rwh-") and len(long) <= 63
    assert unsafe != long


def test_a_reissue_attempt_gets_its_own_key_and_the_first_attempt_keeps_the_plain_one():
    assert idempotency_key_for("r-42", "paypal", attempt=0) == "rwd-r-42"
    assert idempotency_key_for("r-42", "paypal", attempt=2) == "rwd-r-42.2"


def test_request_refuses_a_float_amount():
    with pytest.raises(ValueError, match="Decimal"):
        replace(payout_request(), amount=10.0)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("10.001", "USD"), ("100.5", "JPY"), ("0", "USD"), ("-5.00", "USD"), ("10.00", "XYZ")],
)
def test_request_refuses_amounts_the_currency_cannot_carry(amount, currency):
    with pytest.raises(ValueError):
        payout_request(amount=amount, currency=currency)


def test_request_refuses_a_recipient_that_is_not_an_email_address():
    with pytest.raises(ValueError, match="email"):
        payout_request(email="not-an-address")


def test_terms_ignore_name_message_and_email_case_but_not_amount():
    # Given two requests differing only in presentation
    first = payout_request(email="Ada@Example.com", name="Ada", message="hi")
    second = payout_request(email="ada@example.com", name=None, message=None)

    # Then they are the same payout; a different amount is not
    assert first.terms() == second.terms()
    assert first.terms().fingerprint() == second.terms().fingerprint()
    assert payout_request(amount="10.01").terms() != second.terms()


def test_terms_compare_amounts_by_value_in_minor_units():
    assert PayoutTerms.of("cash", Decimal("10"), "USD", "a@b.c") == PayoutTerms.of(
        "cash", Decimal("10.00"), "USD", "a@b.c"
    )


@pytest.mark.parametrize(
    ("currency", "places", "text"),
    [("USD", 2, "10.00"), ("JPY", 0, "10"), ("KWD", 3, "10.000"), ("EUR", 2, "10.00")],
)
def test_amounts_are_written_in_the_currency_minor_unit(currency, places, text):
    assert minor_units(currency) == places
    assert format_amount(Decimal("10"), currency) == text
