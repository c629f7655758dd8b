"""Property: faults, retries and redeliveries never pay a reward twice.

A simulated fulfilment worker pays rewards through a faulty provider the way the
service must: wait out rate limits, look the key up after an ambiguous error before
retrying, stop on a refusal. Queue redeliveries send the same reward again, and a
worker may die mid-way (its attempt budget runs out) without recording anything.
The same property is checked against the sandbox provider and against the Tremendous
adapter talking to an in-memory Tremendous.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.payouts.port import (
    PayoutOrder,
    PayoutRequest,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    idempotency_key_for,
)
from shared.payouts.sandbox import SandboxGiftCardProvider
from shared.payouts.sandbox_faults import Fault, FaultPlan
from shared.payouts.tremendous import TremendousConfig, TremendousProvider

from .fakes import FakeTremendousApi, clock_at_start

REJECTED = "rejected"

faults = st.one_of(
    st.none(),
    st.builds(Fault.rate_limit, st.floats(min_value=0, max_value=120)),
    st.just(Fault.error_5xx_before_processing()),
    st.just(Fault.error_5xx_after_processing()),
    st.just(Fault.timeout_after_processing()),
    st.just(Fault.reject()),
)


@st.composite
def fault_plans(draw):
    kinds = ["rate_limit", "error_5xx_before_processing", "error_5xx_after_processing"]
    kinds += ["timeout_after_processing", "reject"]
    weights = draw(st.lists(st.integers(0, 10), min_size=len(kinds), max_size=len(kinds)))
    total_chance = draw(st.sampled_from([0.0, 0.3, 0.6]))
    scale = total_chance / sum(weights) if sum(weights) else 0.0
    return FaultPlan(
        script=draw(st.lists(faults, max_size=30)),
        probabilities={kind: weight * scale for kind, weight in zip(kinds, weights, strict=True)},
        lookup_failure_probability=draw(st.sampled_from([0.0, 0.25])),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


rewards = st.lists(
    st.integers(min_value=1, max_value=50_000).map(lambda cents: Decimal(cents).scaleb(-2)),
    min_size=1,
    max_size=6,
)


def sandbox_world(plan, clock):
    provider = SandboxGiftCardProvider(faults=plan, clock=clock)
    return provider, provider.ledger_of_orders


def tremendous_world(plan, clock):
    api = FakeTremendousApi(plan, clock)
    config = TremendousConfig(api_key="TEST_key", products=("OKMHM2X2OHYV",))
    provider = TremendousProvider(config, api)

    def ledger():
        # Read straight from the fake's books, not through the adapter under test.
        return [
            PayoutOrder(
                provider="tremendous",
                idempotency_key=order["external_id"],
                provider_reference=order["id"],
                status="sent",
                amount=order["rewards"][0]["value"]["denomination"],
                currency=order["rewards"][0]["value"]["currency_code"],
                created_at=clock.now(),
            )
            for order in api.orders
        ]

    return provider, ledger


def look_up(provider, key, tries=5):
    """find_order, retried a few times when the lookup itself fails; None if unsure."""
    for _ in range(tries):
        try:
            return provider.find_order(key)
        except ProviderUnavailable:
            continue
    return None


def pay(provider, request, clock, budget):
    """One worker's run: the order, REJECTED, or None if the budget ran out first."""
    for _ in range(budget):
        try:
            return provider.create_order(request)
        except ProviderRateLimited as limited:
            clock.advance(timedelta(seconds=limited.retry_after_seconds))
        except ProviderOutcomeUnknown:
            found = look_up(provider, request.idempotency_key)
            if found is not None:
                return found
        except ProviderRejected:
            return REJECTED
    return None


@pytest.mark.parametrize("world", [sandbox_world, tremendous_world])
@settings(max_examples=100, deadline=None)
@given(
    amounts=rewards,
    plan=fault_plans(),
    deliveries=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4)), max_size=20),
)
def test_faults_and_retries_never_pay_a_reward_twice(world, amounts, plan, deliveries):
    # Given rewards, a faulty provider, and deliveries (reward, worker budget) that
    # repeat rewards like an at-least-once queue
    clock = clock_at_start()
    provider, ledger_of_orders = world(plan, clock)
    requests = [
        PayoutRequest(
            idempotency_key=idempotency_key_for(f"reward-{i}", provider.name),
            reward_id=f"reward-{i}",
            kind="gift_card",
            amount=amount,
            currency="USD",
            recipient_email=f"advocate{i}@example.com",
        )
        for i, amount in enumerate(amounts)
    ]
    settled: dict[int, PayoutOrder | str] = {}

    # When workers process the deliveries, then a final pass settles what is left
    schedule = [(i % len(requests), budget) for i, budget in deliveries]
    schedule += [(i, 1_000) for i in range(len(requests))]
    for index, budget in schedule:
        if index in settled:
            continue  # the worker sees the reward's recorded outcome and skips it
        outcome = pay(provider, requests[index], clock, budget)
        if outcome is not None:
            settled[index] = outcome

    # Then every key has at most one order, each paid reward has exactly its order,
    # refused rewards have none, and the money out is the sum of the paid rewards
    ledger = ledger_of_orders()
    assert len({order.idempotency_key for order in ledger}) == len(ledger)
    assert len(settled) == len(requests)
    by_key = {order.idempotency_key: order for order in ledger}
    for index, outcome in settled.items():
        order = by_key.get(requests[index].idempotency_key)
        if outcome == REJECTED:
            assert order is None
        else:
            assert order is not None
            assert order.provider_reference == outcome.provider_reference
            assert order.amount == requests[index].amount
    paid = [requests[i].amount for i, outcome in settled.items() if outcome != REJECTED]
    total_paid = sum((o.amount for o in ledger if o.counts_as_paid), Decimal(0))
    assert total_paid == sum(paid, Decimal(0))
