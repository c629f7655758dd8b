"""PayPal Payouts adapter against recorded exchanges."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.payouts.paypal import (
    PayPalConfig,
    PayPalPayoutsProvider,
    paypal_amount,
    status_from_paypal,
)
from shared.payouts.port import (
    ProviderConflict,
    ProviderMisconfigured,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    idempotency_key_for,
)
from tests.payout_doubles import InMemoryReferenceIndex, RecordedTransport

from .fakes import clock_at_start, exchanges, payout_request, recording

REWARD_ID = "01JBW7C3M9PQ4T6V8X0Z2B5DFH"
KEY = idempotency_key_for(REWARD_ID, "paypal")
BATCH = "5UXD2E8A7EBQJ"
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}
CONFIG = PayPalConfig(client_id="test-client-id", client_secret="test-client-secret")


def provider_for(transport, clock=None, references=None):
    return PayPalPayoutsProvider(
        CONFIG,
        transport,
        clock=clock or clock_at_start(),
        references=references if references is not None else InMemoryReferenceIndex(),
    )


def cash(amount="10.00"):
    return payout_request(
        key=KEY,
        reward_id=REWARD_ID,
        kind="cash",
        amount=amount,
        email="rita@example.com",
        name=None,
        message="Thanks for joining through a friend!",
    )


def test_create_payout_sends_the_recorded_token_request_and_body():
    # Given the recorded token and payout exchanges
    transport = recording("paypal/create_payout")

    # When the cash reward is paid
    order = provider_for(transport).create_order(cash())

    # Then the token was fetched with client credentials, the body matched exactly
    # (amount "10.00" as a string, sender_batch_id and sender_item_id from the reward)
    transport.assert_all_used()
    sent = transport.received[-1].json_body
    assert sent["items"][0]["amount"] == {"value": "10.00", "currency": "USD"}
    assert sent["sender_batch_header"]["sender_batch_id"] == "rwd-01JBW7C3M9PQ4T6V8X0Z2B5DFH"
    assert (order.provider_reference, order.status) == (BATCH, "pending")
    assert order.amount == Decimal("10.00")


def test_the_token_is_reused_until_it_is_close_to_expiry():
    # Given a payout made with a token PayPal says lives 9 hours
    clock = clock_at_start()
    transport = RecordedTransport(
        [*exchanges("paypal/create_payout"), *exchanges("paypal/get_payout_success")[1:]]
    )
    provider = provider_for(transport, clock=clock)
    provider.create_order(cash())

    # When the batch is read an hour later
    clock.advance(timedelta(hours=1))
    provider.get_order(BATCH)

    # Then the same token served both calls (the recording has one token exchange)
    transport.assert_all_used()


def test_repeat_with_the_same_key_returns_the_original_batch():
    # Given PayPal refuses the reused sender_batch_id and links the original batch
    transport = recording("paypal/create_payout_duplicate")

    order = provider_for(transport).create_order(cash())

    assert (order.provider_reference, order.status) == (BATCH, "confirmed")
    assert order.idempotency_key == KEY
    transport.assert_all_used()


def test_same_key_with_a_different_amount_is_a_conflict():
    provider = provider_for(recording("paypal/create_payout_duplicate_conflict"))

    with pytest.raises(ProviderConflict, match=BATCH):
        provider.create_order(cash(amount="25.00"))


def test_a_duplicate_without_a_link_is_an_unknown_outcome_not_a_conflict():
    # Given PayPal refuses the reused sender_batch_id without saying which batch holds it
    transport = recording("paypal/create_payout_duplicate_without_link")

    # When the payout is sent, the index knowing no batch for the key
    with pytest.raises(ProviderOutcomeUnknown) as raised:
        provider_for(transport).create_order(cash())

    # Then the money may have gone out: the caller must look it up, never fail the entry
    assert not isinstance(raised.value, ProviderConflict)
    transport.assert_all_used()


def test_a_duplicate_without_a_link_adopts_the_batch_the_index_learnt_meanwhile():
    # Given a concurrent first call was answered and recorded its batch
    index = InMemoryReferenceIndex()
    index.remember(KEY, BATCH, clock_at_start().now())
    transport = RecordedTransport(
        [
            *exchanges("paypal/create_payout_duplicate_without_link"),
            *exchanges("paypal/get_payout_success")[1:],
        ]
    )

    order = provider_for(transport, references=index).create_order(cash())

    assert (order.provider_reference, order.status) == (BATCH, "confirmed")
    transport.assert_all_used()


def test_a_conflicting_duplicate_leaves_the_original_batch_findable_by_key():
    # Given the key already paid a batch with other terms
    index = InMemoryReferenceIndex()
    provider = provider_for(recording("paypal/create_payout_duplicate_conflict"), references=index)
    with pytest.raises(ProviderConflict):
        provider.create_order(cash(amount="25.00"))

    # Then the index names that batch, so a lookup by key finds the payment
    assert index.reference_for(KEY) == BATCH


def test_5xx_after_processing_then_retry_with_the_same_key_returns_the_original():
    # Given PayPal created the batch but answered 500
    transport = recording("paypal/create_payout_5xx_then_retry")
    provider = provider_for(transport)
    with pytest.raises(ProviderUnavailable):
        provider.create_order(cash())

    # When the caller looks the key up: PayPal cannot be asked by key and the index
    # has not heard of a batch, so the answer is "not known"
    assert provider.find_order(KEY) is None

    # Then the retry with the same key is refused as a duplicate and adopts the original
    order = provider.create_order(cash())
    assert order.provider_reference == BATCH
    transport.assert_all_used()


def test_find_order_uses_the_reference_index_filled_by_create():
    references = InMemoryReferenceIndex()
    provider_for(recording("paypal/create_payout"), references=references).create_order(cash())

    found = provider_for(recording("paypal/get_payout_success"), references=references).find_order(
        KEY
    )

    assert found is not None and found.provider_reference == BATCH
    assert found.status == "confirmed"


def test_429_is_rate_limited_with_retry_after_from_an_http_date():
    # Given "Retry-After: Fri, 14 Mar 2025 09:28:20 GMT" and a clock at 09:26:50
    clock = clock_at_start()
    provider = provider_for(recording("paypal/create_payout_rate_limited", clock), clock=clock)

    with pytest.raises(ProviderRateLimited) as raised:
        provider.create_order(cash())

    assert raised.value.retry_after_seconds == 90.0


def test_timeout_is_an_unknown_outcome():
    provider = provider_for(recording("paypal/create_payout_timeout"))

    with pytest.raises(ProviderTimeout) as raised:
        provider.create_order(cash())

    assert isinstance(raised.value, ProviderOutcomeUnknown)


def test_insufficient_funds_is_rejected():
    provider = provider_for(recording("paypal/create_payout_insufficient_funds"))

    with pytest.raises(ProviderRejected, match="INSUFFICIENT_FUNDS"):
        provider.create_order(cash())


def test_a_revoked_token_is_renewed_once_and_the_payout_goes_through():
    transport = recording("paypal/create_payout_token_revoked")

    order = provider_for(transport).create_order(cash())

    assert order.provider_reference == BATCH
    transport.assert_all_used()


def test_refused_client_credentials_mean_misconfigured():
    unauthorized = {"status": 401, "json": {"error": "invalid_client"}}
    token = {"method": "POST", "path": "/v1/oauth2/token", "form": CLIENT_CREDENTIALS}
    transport = RecordedTransport([{"request": token, "response": unauthorized}])

    with pytest.raises(ProviderMisconfigured):
        provider_for(transport).create_order(cash())


def test_returned_item_reads_as_failed_with_the_reason():
    order = provider_for(recording("paypal/get_payout_returned")).get_order(BATCH)

    assert order.status == "failed"
    assert order.failure_reason == "RETURNED: RECEIVER_UNREGISTERED"
    assert not order.counts_as_paid


def test_list_orders_reads_the_batches_the_index_knows_since_a_moment():
    references = InMemoryReferenceIndex()
    references.remember("old-key", "OLDBATCH", datetime(2025, 3, 1, tzinfo=UTC))
    references.remember(KEY, BATCH, datetime(2025, 3, 14, 9, 26, 55, tzinfo=UTC))
    provider = provider_for(recording("paypal/get_payout_success"), references=references)

    orders = list(provider.list_orders(datetime(2025, 3, 14, tzinfo=UTC)))

    assert [o.provider_reference for o in orders] == [BATCH]


@pytest.mark.parametrize(
    ("batch_status", "transaction_status", "expected"),
    [
        ("PENDING", None, "pending"),
        ("PROCESSING", None, "pending"),
        ("PROCESSING", "PENDING", "sent"),
        ("SUCCESS", "SUCCESS", "confirmed"),
        ("SUCCESS", "UNCLAIMED", "sent"),
        ("SUCCESS", "ONHOLD", "pending"),
        ("SUCCESS", "FAILED", "failed"),
        ("SUCCESS", "RETURNED", "failed"),
        ("SUCCESS", "BLOCKED", "failed"),
        ("SUCCESS", "REFUNDED", "failed"),
        ("SUCCESS", "REVERSED", "failed"),
        ("DENIED", None, "failed"),
        ("CANCELED", None, "failed"),
        ("SUCCESS", "SOMETHING_NEW", "pending"),
    ],
)
def test_status_mapping(batch_status, transaction_status, expected):
    item = {"transaction_status": transaction_status} if transaction_status else None

    status, reason = status_from_paypal(batch_status, item)

    assert status == expected
    assert (reason is not None) == (expected == "failed")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("10", "USD", "10.00"),
        ("0.5", "EUR", "0.50"),
        ("1500", "JPY", "1500"),
        ("2000.00", "HUF", "2000"),
    ],
)
def test_amounts_are_strings_in_the_currency_minor_unit(amount, currency, text):
    assert paypal_amount(Decimal(amount), currency) == text


def test_fractional_amount_in_a_whole_unit_currency_is_rejected_before_any_call():
    transport = RecordedTransport([])

    with pytest.raises(ProviderRejected, match="whole units"):
        provider_for(transport).create_order(
            payout_request(kind="cash", amount="2000.50", currency="HUF")
        )

    assert transport.received == []


def test_a_short_lived_token_is_renewed_after_half_its_life():
    # Given tokens PayPal says live 4 minutes, shorter than the renewal margin
    clock = clock_at_start()
    token = {
        "request": {"method": "POST", "path": "/v1/oauth2/token", "form": CLIENT_CREDENTIALS},
        "response": {"status": 200, "json": {"access_token": "T", "expires_in": 240}},
    }
    read = exchanges("paypal/get_payout_success")[1]
    read["request"]["headers"] = {"Authorization": "Bearer T"}
    transport = RecordedTransport([token, read, read, token, read])
    provider = provider_for(transport, clock=clock)

    # When batches are read now, a minute later and three minutes later
    provider.get_order(BATCH)
    clock.advance(timedelta(minutes=1))
    provider.get_order(BATCH)
    clock.advance(timedelta(minutes=2))
    provider.get_order(BATCH)

    # Then a second token was fetched only for the last read
    transport.assert_all_used()
