"""Sandbox providers: idempotency, fault injection, status timeline, storage."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.payouts.port import (
    OrderNotFound,
    ProviderConflict,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from shared.payouts.sandbox import (
    REJECTED_RECIPIENT_DOMAIN,
    SandboxCashProvider,
    SandboxGiftCardProvider,
    SandboxTimeline,
)
from shared.payouts.sandbox_faults import Fault, FaultPlan
from shared.payouts.sandbox_store import InMemoryOrderStore, JsonFileOrderStore

from .fakes import clock_at_start, payout_request


def gift_cards(*script, clock=None, **options):
    return SandboxGiftCardProvider(
        faults=FaultPlan(script), clock=clock or clock_at_start(), **options
    )


def test_same_key_returns_the_original_order():
    # Given a gift card already ordered for a reward
    provider = gift_cards()
    first = provider.create_order(payout_request())

    # When the same request comes again
    again = provider.create_order(payout_request())

    # Then it is the same order and only one exists
    assert again.provider_reference == first.provider_reference
    assert again.created_at == first.created_at
    assert len(provider.ledger_of_orders()) == 1


def test_same_key_with_a_different_amount_is_a_conflict_and_pays_nothing_more():
    provider = gift_cards()
    provider.create_order(payout_request(amount="10.00"))

    with pytest.raises(ProviderConflict):
        provider.create_order(payout_request(amount="25.00"))

    assert provider.total_paid("USD") == Decimal("10.00")


def test_same_key_with_a_different_recipient_is_a_conflict():
    provider = gift_cards()
    provider.create_order(payout_request(email="ada@example.com"))

    with pytest.raises(ProviderConflict):
        provider.create_order(payout_request(email="eve@example.com"))


def test_rate_limit_says_when_to_retry_and_creates_nothing():
    provider = gift_cards(Fault.rate_limit(retry_after_seconds=12.5))

    with pytest.raises(ProviderRateLimited) as raised:
        provider.create_order(payout_request())

    assert raised.value.retry_after_seconds == 12.5
    assert provider.find_order("rwd-reward-1") is None


def test_5xx_after_processing_leaves_an_order_that_find_order_finds():
    # Given the provider creates the order but answers 503
    provider = gift_cards(Fault.error_5xx_after_processing())
    with pytest.raises(ProviderUnavailable):
        provider.create_order(payout_request())

    # When the caller looks the key up before retrying
    found = provider.find_order("rwd-reward-1")

    # Then the order is there, and a retry returns it instead of paying again
    assert found is not None
    assert provider.create_order(payout_request()).provider_reference == found.provider_reference
    assert provider.total_paid("USD") == Decimal("10.00")


def test_5xx_before_processing_creates_nothing():
    provider = gift_cards(Fault.error_5xx_before_processing())

    with pytest.raises(ProviderUnavailable):
        provider.create_order(payout_request())

    assert provider.find_order("rwd-reward-1") is None


def test_timeout_after_processing_leaves_an_order_that_find_order_finds():
    provider = gift_cards(Fault.timeout_after_processing())

    with pytest.raises(ProviderTimeout):
        provider.create_order(payout_request())

    assert provider.find_order("rwd-reward-1") is not None


def test_rejection_creates_nothing():
    provider = gift_cards(Fault.reject("mailbox does not exist"))

    with pytest.raises(ProviderRejected, match="mailbox does not exist"):
        provider.create_order(payout_request())

    assert provider.ledger_of_orders() == []


def test_a_repeat_of_a_paid_key_is_never_rejected():
    # Given an order that exists, and a plan whose next call is a refusal
    provider = gift_cards(None, Fault.reject())
    first = provider.create_order(payout_request())

    # When the same key comes again / Then the provider answers with the original
    assert provider.create_order(payout_request()) == first


def test_recipients_at_the_rejected_domain_are_refused():
    provider = gift_cards()

    with pytest.raises(ProviderRejected):
        provider.create_order(payout_request(email=f"x@{REJECTED_RECIPIENT_DOMAIN}"))


def test_gift_card_is_confirmed_on_creation_by_default():
    assert gift_cards().create_order(payout_request()).status == "confirmed"


def test_gift_card_with_a_delay_is_sent_then_confirmed_on_the_clock():
    # Given gift cards that confirm ten minutes after ordering
    clock = clock_at_start()
    provider = gift_cards(
        clock=clock, timeline=SandboxTimeline(confirm_after=timedelta(minutes=10))
    )
    order = provider.create_order(payout_request())
    assert order.status == "sent"

    # When ten minutes pass / Then the order reads as confirmed
    clock.advance(timedelta(minutes=10))
    assert provider.get_order(order.provider_reference).status == "confirmed"


def test_cash_is_sent_on_creation_and_confirmed_on_the_next_look():
    provider = SandboxCashProvider(clock=clock_at_start())

    order = provider.create_order(payout_request(kind="cash"))

    assert order.status == "sent"
    assert provider.get_order(order.provider_reference).status == "confirmed"


def test_cash_with_a_pending_period_moves_pending_sent_confirmed():
    clock = clock_at_start()
    timeline = SandboxTimeline(pending_for=timedelta(minutes=1), confirm_after=timedelta(hours=1))
    provider = SandboxCashProvider(clock=clock, timeline=timeline)
    reference = provider.create_order(payout_request(kind="cash")).provider_reference

    seen = [provider.get_order(reference).status]
    for step in (timedelta(minutes=1), timedelta(hours=1)):
        clock.advance(step)
        seen.append(provider.get_order(reference).status)

    assert seen == ["pending", "sent", "confirmed"]


def test_a_provider_refuses_the_other_kind_of_payout():
    with pytest.raises(ValueError, match="cash"):
        gift_cards().create_order(payout_request(kind="cash"))


def test_get_order_of_an_unknown_reference_is_not_found():
    with pytest.raises(OrderNotFound):
        gift_cards().get_order("SBGC-NOPE")


def test_list_orders_returns_orders_created_since_a_moment():
    clock = clock_at_start()
    provider = gift_cards(clock=clock)
    provider.create_order(payout_request(key="k-old"))
    clock.advance(timedelta(hours=1))
    since = clock.now()
    provider.create_order(payout_request(key="k-new"))

    assert [o.idempotency_key for o in provider.list_orders(since)] == ["k-new"]


def test_total_paid_sums_orders_per_currency():
    provider = gift_cards()
    provider.create_order(payout_request(key="a", amount="10.00"))
    provider.create_order(payout_request(key="b", amount="2.50"))
    provider.create_order(payout_request(key="c", amount="7.00", currency="EUR"))

    assert provider.total_paid("USD") == Decimal("12.50")
    assert provider.total_paid("EUR") == Decimal("7.00")


def test_probabilistic_faults_repeat_for_the_same_seed():
    def outcomes(seed):
        plan = FaultPlan(probabilities={"rate_limit": 0.3, "reject": 0.2}, seed=seed)
        return [plan.next_create_fault() for _ in range(50)]

    assert outcomes(7) == outcomes(7)
    assert any(outcomes(7)) and None in outcomes(7)


def test_lookups_fail_at_the_configured_rate():
    provider = SandboxGiftCardProvider(
        faults=FaultPlan(lookup_failure_probability=1.0), clock=clock_at_start()
    )

    with pytest.raises(ProviderUnavailable):
        provider.find_order("anything")


def test_fault_plan_refuses_probabilities_above_one():
    with pytest.raises(ValueError):
        FaultPlan(probabilities={"rate_limit": 0.7, "reject": 0.4})


def test_json_file_store_keeps_orders_across_restarts(tmp_path):
    # Given an order placed through a file-backed sandbox
    path = tmp_path / "orders.json"
    clock = clock_at_start()
    first = SandboxGiftCardProvider(store=JsonFileOrderStore(path), clock=clock)
    order = first.create_order(payout_request())

    # When a new process opens the same file
    restarted = SandboxGiftCardProvider(store=JsonFileOrderStore(path), clock=clock)

    # Then the order is there and the same key is still not paid twice
    assert restarted.find_order("rwd-reward-1") == order
    assert restarted.create_order(payout_request()).provider_reference == order.provider_reference
    assert len(restarted.ledger_of_orders()) == 1


def test_json_file_store_keeps_no_recipient_address(tmp_path):
    path = tmp_path / "orders.json"
    provider = SandboxGiftCardProvider(store=JsonFileOrderStore(path), clock=clock_at_start())

    provider.create_order(payout_request(email="private@example.com"))

    assert "private@example.com" not in path.read_text()


def test_two_providers_can_share_one_store_without_mixing_orders():
    store = InMemoryOrderStore()
    gifts = SandboxGiftCardProvider(store=store, clock=clock_at_start())
    cash = SandboxCashProvider(store=store, clock=clock_at_start())

    gifts.create_order(payout_request(key="same-key"))
    cash.create_order(payout_request(key="same-key", kind="cash"))

    assert len(gifts.ledger_of_orders()) == len(cash.ledger_of_orders()) == 1


@pytest.mark.parametrize("store_kind", ["memory", "file"])
def test_concurrent_creates_of_one_key_make_one_order(tmp_path, store_kind):
    # Given several workers paying the same reward at the same moment
    store = InMemoryOrderStore() if store_kind == "memory" else JsonFileOrderStore(tmp_path / "o")
    provider = SandboxGiftCardProvider(store=store, clock=clock_at_start())
    start = threading.Barrier(8)
    references = []

    def pay():
        start.wait()
        references.append(provider.create_order(payout_request()).provider_reference)

    workers = [threading.Thread(target=pay) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    # Then they all see the one order
    assert len(set(references)) == 1
    assert len(provider.ledger_of_orders()) == 1
