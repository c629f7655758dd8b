"""Tremendous adapter against recorded exchanges."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.payouts.port import (
    OrderNotFound,
    ProviderConflict,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    idempotency_key_for,
)
from shared.payouts.tremendous import TremendousConfig, TremendousProvider, status_from_tremendous
from tests.payout_doubles import RecordedTransport

from .fakes import payout_request, recording

REWARD_ID = "01JBW5XGQ2R8ZJ4N6T3K9M0PCE"
KEY = idempotency_key_for(REWARD_ID, "tremendous")


def provider_for(transport):
    config = TremendousConfig(api_key="TEST_tremendous-sandbox-key", products=("OKMHM2X2OHYV",))
    return TremendousProvider(config, transport)


def gift_card(amount="10.00"):
    return payout_request(key=KEY, reward_id=REWARD_ID, amount=amount)


def test_create_order_sends_the_recorded_body_and_reads_the_order():
    # Given the recorded exchange for a new external_id
    transport = recording("tremendous/create_order")

    # When the gift card is ordered
    order = provider_for(transport).create_order(gift_card())

    # Then the body matched the recording (denomination 10.00, external_id from the
    # reward id) and the order is read back
    transport.assert_all_used()
    assert order.provider_reference == "VKRMUBUCAI6W"
    assert order.idempotency_key == "rwd-01JBW5XGQ2R8ZJ4N6T3K9M0PCE"
    assert (order.amount, order.currency, order.status) == (Decimal("10.00"), "USD", "sent")
    assert order.created_at == datetime(2025, 3, 14, 9, 26, 53, 412000, tzinfo=UTC)


def test_order_body_writes_the_denomination_in_minor_units_without_a_float():
    body = provider_for(RecordedTransport([])).order_body(gift_card(amount="10"))

    assert body["reward"]["value"] == {"denomination": Decimal("10.00"), "currency_code": "USD"}
    assert isinstance(body["reward"]["value"]["denomination"], Decimal)


def test_repeat_with_the_same_key_returns_the_original_order():
    # Given Tremendous answers 201 with the existing order for a known external_id
    order = provider_for(recording("tremendous/create_order_repeat")).create_order(gift_card())

    assert order.provider_reference == "VKRMUBUCAI6W"
    assert order.status == "confirmed"


def test_same_key_with_a_different_amount_is_a_conflict():
    # Given Tremendous answers 201 with the original $10 order to a $25 request
    provider = provider_for(recording("tremendous/create_order_conflict"))

    with pytest.raises(ProviderConflict, match="VKRMUBUCAI6W"):
        provider.create_order(gift_card(amount="25.00"))


def test_429_is_rate_limited_with_retry_after():
    provider = provider_for(recording("tremendous/create_order_rate_limited"))

    with pytest.raises(ProviderRateLimited) as raised:
        provider.create_order(gift_card())

    assert raised.value.retry_after_seconds == 30.0


def test_5xx_after_processing_then_find_order_finds_it():
    # Given a 502 although the order was created
    transport = recording("tremendous/create_order_5xx_then_find")
    provider = provider_for(transport)
    with pytest.raises(ProviderUnavailable):
        provider.create_order(gift_card())

    # When the caller looks the key up / Then the order is found, nothing re-issued
    found = provider.find_order(KEY)

    assert found is not None and found.provider_reference == "VKRMUBUCAI6W"
    transport.assert_all_used()


def test_timeout_then_find_order_says_there_is_no_order():
    provider = provider_for(recording("tremendous/create_order_timeout_then_find_nothing"))

    with pytest.raises(ProviderTimeout):
        provider.create_order(gift_card())

    assert provider.find_order(KEY) is None


def test_invalid_recipient_is_rejected_with_the_provider_message():
    provider = provider_for(recording("tremendous/create_order_rejected"))

    with pytest.raises(ProviderRejected, match="Recipient email is invalid"):
        provider.create_order(gift_card())


def test_get_order_reads_the_current_status():
    order = provider_for(recording("tremendous/get_order")).get_order("VKRMUBUCAI6W")

    assert order.status == "confirmed"


def test_get_order_of_an_unknown_id_is_not_found():
    with pytest.raises(OrderNotFound):
        provider_for(recording("tremendous/get_order_not_found")).get_order("NOSUCHORDER1")


def test_list_orders_since_a_moment():
    provider = provider_for(recording("tremendous/list_orders"))

    orders = list(provider.list_orders(datetime(2025, 3, 14, tzinfo=UTC)))

    assert [(o.provider_reference, o.status, o.amount) for o in orders] == [
        ("VKRMUBUCAI6W", "confirmed", Decimal("10.00")),
        ("QH7WQ2MZKD8N", "pending", Decimal("25.00")),
    ]


def test_list_orders_pages_until_tremendous_has_no_more():
    # Given 101 orders: a full page of 100, then one more
    def order(n):
        return {
            "id": f"ORDER{n:07d}",
            "external_id": f"rwd-{n}",
            "created_at": "2025-03-14T10:00:00Z",
            "status": "EXECUTED",
            "rewards": [
                {
                    "value": {"denomination": Decimal("5.0"), "currency_code": "USD"},
                    "delivery": {"method": "EMAIL", "status": "SUCCEEDED"},
                }
            ],
        }

    def page(offset, orders):
        query = {"created_at[gte]": "2025-03-14T00:00:00+00:00", "limit": "100"}
        return {
            "request": {
                "method": "GET",
                "path": "/api/v2/orders",
                "query": {**query, "offset": str(offset)},
            },
            "response": {"status": 200, "json": {"orders": orders, "total_count": 101}},
        }

    transport = RecordedTransport(
        [page(0, [order(n) for n in range(100)]), page(100, [order(100)])]
    )

    orders = list(provider_for(transport).list_orders(datetime(2025, 3, 14, tzinfo=UTC)))

    assert len(orders) == 101
    transport.assert_all_used()


@pytest.mark.parametrize(
    ("order_status", "delivery", "expected"),
    [
        ("EXECUTED", "SUCCEEDED", "confirmed"),
        ("EXECUTED", "SCHEDULED", "sent"),
        ("EXECUTED", "PENDING", "sent"),
        ("EXECUTED", "FAILED", "failed"),
        ("FAILED", None, "failed"),
        ("CANCELED", None, "failed"),
        ("OPEN", None, "pending"),
        ("PENDING APPROVAL", "PENDING", "pending"),
        ("PENDING INTERNAL PAYMENT APPROVAL", None, "pending"),
        ("PENDING SETTLEMENT", None, "pending"),
        ("SOMETHING NEW", None, "pending"),
        ("EXECUTED", "SOMETHING NEW", "pending"),
    ],
)
def test_status_mapping(order_status, delivery, expected):
    rewards = [{"delivery": {"status": delivery}}] if delivery else []

    status, reason = status_from_tremendous({"status": order_status, "rewards": rewards})

    assert status == expected
    assert (reason is not None) == (expected == "failed")


def test_config_needs_products_or_a_campaign():
    with pytest.raises(ValueError, match="products or a campaign_id"):
        TremendousConfig(api_key="k")


def test_config_hides_the_api_key_from_its_repr():
    assert "secret-key" not in repr(TremendousConfig(api_key="secret-key", campaign_id="C1"))


# --- charity donations ----------------------------------------------------------------------

DONATION_ID = "01JDNTX4CHAR1TY5AVE0THE0CH"
SAVE_THE_CHILDREN = "ESRNAD533W5A"


def donations_provider(transport):
    config = TremendousConfig(api_key="TEST_tremendous-sandbox-key", kinds=("charity_donation",))
    return TremendousProvider(config, transport)


def donation(charity=SAVE_THE_CHILDREN):
    return payout_request(
        key=idempotency_key_for(DONATION_ID, "tremendous"),
        reward_id=DONATION_ID,
        kind="charity_donation",
        amount="15.00",
        charity=charity,
    )


def test_a_donation_is_a_single_product_reward_of_the_charity():
    # Given the recorded exchange of a new donation
    transport = recording("tremendous/create_donation")

    # When the donation is ordered
    order = donations_provider(transport).create_order(donation())

    # Then the body named the charity as the reward's one product, and no campaign
    transport.assert_all_used()
    sent = transport.received[0].json_body["reward"]
    assert sent["products"] == [SAVE_THE_CHILDREN] and "campaign_id" not in sent
    assert (order.provider_reference, order.status) == ("DN8CHARITY01", "confirmed")
    assert (order.amount, order.currency) == (Decimal("15.00"), "USD")


def test_a_donation_key_repeated_for_another_charity_is_a_conflict():
    # Given Tremendous answers 201 with the original Save the Children donation
    provider = donations_provider(recording("tremendous/create_donation_repeat_other_charity"))

    # When the same key asks for another charity / Then nothing counts as paid twice
    with pytest.raises(ProviderConflict, match="DN8CHARITY01"):
        provider.create_order(donation(charity="OTHERCHARITY"))


def test_a_gift_card_provider_refuses_a_donation_and_a_donation_provider_a_gift_card():
    with pytest.raises(ValueError, match="charity_donation"):
        provider_for(RecordedTransport([])).create_order(donation())
    with pytest.raises(ValueError, match="gift_card"):
        donations_provider(RecordedTransport([])).create_order(gift_card())


def test_a_donations_only_config_needs_no_gift_card_products():
    config = TremendousConfig(api_key="k", kinds=("charity_donation",))

    assert config.products == () and config.campaign_id is None


def test_a_donation_is_found_by_its_key_for_reconciliation():
    transport = recording("tremendous/find_donation")

    found = donations_provider(transport).find_order(idempotency_key_for(DONATION_ID, "tremendous"))

    transport.assert_all_used()
    assert found is not None
    assert (found.provider_reference, found.status, found.amount) == (
        "DN8CHARITY01",
        "confirmed",
        Decimal("15.00"),
    )
