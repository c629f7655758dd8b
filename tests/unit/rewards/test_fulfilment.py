"""Fulfilment pays each ledger entry exactly once, whatever the queue and provider do."""

from __future__ import annotations

import contextlib
import threading
from decimal import Decimal

from shared.bootstrap import bootstrap
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import RewardMessage, RewardStatus
from shared.payouts import PayoutOrder, PayoutProvider, PayoutRequest
from shared.payouts.paypal import PayPalConfig, PayPalPayoutsProvider
from shared.payouts.sandbox_faults import Fault
from shared.services.fulfilment import RetryLater
from tests.finance_support import fixed_hasher
from tests.payout_doubles import InMemoryReferenceIndex, ReceivedRequest, RecordedTransport
from tests.unit.payouts.fakes import exchanges
from tests.unit.rewards.conftest import World, WorldFactory


class ProcessDied(Exception):
    """Stands for the function being killed right after the provider answered."""


class DiesAfterPaying:
    """A provider wrapper: the order is created, then the caller never hears back."""

    def __init__(self, inner: PayoutProvider) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    def create_order(self, request: PayoutRequest) -> PayoutOrder:
        self._inner.create_order(request)
        raise ProcessDied

    def find_order(self, idempotency_key: str) -> PayoutOrder | None:
        return self._inner.find_order(idempotency_key)

    def get_order(self, provider_reference: str) -> PayoutOrder:
        return self._inner.get_order(provider_reference)

    def list_orders(self, since):  # type: ignore[no-untyped-def]
        return self._inner.list_orders(since)


def _released(world: World, **program: object) -> tuple[str, list[tuple[str, RewardMessage]]]:
    program_id = world.program(**program)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    return referral_id, world.queue.take()


def _gift_card(messages: list[tuple[str, RewardMessage]]) -> RewardMessage:
    return next(m for kind, m in messages if kind == "gift_card")


def test_every_reward_confirmed_makes_the_referral_rewarded(world: World) -> None:
    referral_id, messages = _released(world)

    for _, message in messages:
        world.deliver(message)

    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CONFIRMED}
    assert world.status(referral_id) == ReferralStatus.REWARDED
    assert sum(o.amount for o in world.paid_orders()) == Decimal("20.00")


def test_duplicate_delivery_five_times_pays_once(world: World) -> None:
    _referral_id, messages = _released(world)
    message = _gift_card(messages)

    outcomes = [world.deliver(message) for _ in range(5)]

    assert [o.action for o in outcomes if o] == ["paid"] + ["settled_already"] * 4
    assert len(world.paid_orders()) == 1


def test_five_concurrent_deliveries_pay_once(world: World) -> None:
    referral_id, messages = _released(world)
    message = _gift_card(messages)

    threads = [threading.Thread(target=world.deliver, args=(message,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(world.paid_orders()) == 1
    advocate = next(r for r in world.rewards(referral_id) if r.beneficiary == "advocate")
    assert advocate.status == RewardStatus.CONFIRMED


def test_a_crash_after_the_provider_call_then_redelivery_pays_once(world: World) -> None:
    # Given a delivery that dies after the provider created the order
    referral_id, messages = _released(world)
    message = _gift_card(messages)
    crashing = world.services(
        providers={**world.providers, "gift_card": DiesAfterPaying(world.providers["gift_card"])}
    ).fulfilment()
    with contextlib.suppress(ProcessDied):
        crashing.fulfil(message)
    advocate = next(r for r in world.rewards(referral_id) if r.beneficiary == "advocate")
    assert advocate.status == RewardStatus.SENT

    # When the message is delivered again
    outcome = world.deliver(message)

    # Then the order is found by key and recorded; nothing is paid a second time
    assert outcome is not None and outcome.status == RewardStatus.CONFIRMED
    assert len(world.paid_orders()) == 1


def test_a_5xx_after_the_provider_processed_it_pays_once(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.error_5xx_after_processing()])
    _referral_id, messages = _released(world)

    outcome = world.deliver(_gift_card(messages))

    assert outcome is not None and outcome.status == RewardStatus.CONFIRMED
    assert len(world.paid_orders()) == 1


def test_a_timeout_after_the_provider_processed_it_pays_once(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.timeout_after_processing()])
    _, messages = _released(world)
    message = _gift_card(messages)

    world.deliver(message)
    world.deliver(message)

    assert len(world.paid_orders()) == 1


def test_a_5xx_before_processing_leaves_it_for_a_later_delivery(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.error_5xx_before_processing()])
    _referral_id, messages = _released(world)
    message = _gift_card(messages)

    first = world.deliver(message)
    second = world.deliver(message)

    assert first is None and world.retries[0].delay_seconds > 0
    assert second is not None and second.status == RewardStatus.CONFIRMED
    assert len(world.paid_orders()) == 1


def test_a_429_backs_off_with_the_providers_delay_and_pays_later(make_world: WorldFactory) -> None:
    # Given the provider answers 429 with Retry-After: 7 s
    world = make_world(gift_script=[Fault.rate_limit(retry_after_seconds=7)])
    referral_id, messages = _released(world)
    message = _gift_card(messages)

    # When the message is delivered
    first = world.deliver(message)

    # Then it is left for later with that delay, nothing was paid, the attempt is noted
    assert first is None
    assert world.retries[0].delay_seconds == 7
    assert world.paid_orders() == []
    advocate = next(r for r in world.rewards(referral_id) if r.beneficiary == "advocate")
    assert advocate.last_error and "rate limited" in advocate.last_error

    # And the next delivery pays it once
    assert world.deliver(message) is not None
    assert len(world.paid_orders()) == 1


def test_a_rejected_payout_fails_and_returns_its_budget(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    referral_id, messages = _released(world)
    program_id = world.rewards(referral_id)[0].program_id

    outcome = world.deliver(_gift_card(messages))

    assert outcome is not None and outcome.status == RewardStatus.FAILED
    assert world.paid_orders() == []
    assert world.budget_left(program_id) == Decimal("4990.00")


def test_a_cancelled_entry_is_never_sent(world: World) -> None:
    referral_id, messages = _released(world)
    world.refund(referral_id, world.order_of(referral_id), "45.00")

    outcomes = [world.deliver(m) for _, m in messages]

    assert {o.action for o in outcomes if o} == {"settled_already"}
    assert world.paid_orders() == []


def test_a_message_arriving_before_the_entry_is_marked_queued_still_pays(world: World) -> None:
    # The consumer may see the message before the release marks the entry queued.
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)

    class Immediate:
        def send_reward(self, kind: str, reward_id: str, referral_id: str) -> None:
            world.deliver(RewardMessage(reward_id, referral_id))

    world.services(reward_queue=Immediate()).release.release(referral_id)

    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CONFIRMED}
    assert world.status(referral_id) == ReferralStatus.REWARDED


def test_a_malformed_or_unknown_message_pays_nothing(world: World) -> None:
    outcome = world.deliver(RewardMessage("ref_nothing-advocate", "ref_nothing"))

    assert outcome is not None and outcome.action == "unknown_reward"
    assert world.paid_orders() == []


def test_an_erased_recipient_fails_the_entry_instead_of_paying_someone(world: World) -> None:
    referral_id, messages = _released(world)
    referral = world.referral_repo.get(referral_id)
    assert referral is not None
    bootstrap(table=world.table, clock=world.clock, hasher=fixed_hasher()).customers.erase(
        referral.referee_customer_id, "admin"
    )

    cash = next(m for kind, m in messages if kind == "cash")
    outcome = world.deliver(cash)

    assert outcome is not None and outcome.status == RewardStatus.FAILED
    assert world.paid_orders() == []


def test_retry_later_never_asks_for_less_than_a_second() -> None:
    assert RetryLater(0, "now").delay_seconds == 1


class PayPalAnswers(RecordedTransport):
    """PayPal's recorded answers, whatever reward the body pays (the world's reward ids
    are its own, not the recording's)."""

    @staticmethod
    def _check_body(recorded: object, received: ReceivedRequest) -> None:
        return None


def _paypal_cash(world: World, index: InMemoryReferenceIndex, *recordings: str) -> None:
    answers = [e for name in recordings for e in exchanges(name)]
    tokens = [e for e in answers if e["request"]["path"] == "/v1/oauth2/token"]
    calls = [e for e in answers if e["request"]["path"] != "/v1/oauth2/token"]
    config = PayPalConfig(client_id="test-client-id", client_secret="test-client-secret")
    transport = PayPalAnswers([*tokens[:1], *calls], clock=world.clock)
    world.providers["cash"] = PayPalPayoutsProvider(
        config, transport, clock=world.clock, references=index
    )
    world.__post_init__()


def test_a_paypal_duplicate_without_a_link_leaves_the_entry_sent_for_reconcile(
    world: World,
) -> None:
    # Given PayPal answers the cash payout "duplicate batch" without naming the batch
    index = InMemoryReferenceIndex()
    _paypal_cash(
        world,
        index,
        "paypal/create_payout_duplicate_without_link",
        *["paypal/get_payout_success"] * 3,  # reconcile reads the batch in each pass
    )
    referral_id, messages = _released(world)
    program_id = world.rewards(referral_id)[0].program_id
    budget_left = world.budget_left(program_id)
    cash = next(m for kind, m in messages if kind == "cash")

    # When the cash reward is delivered
    world.deliver(cash)

    # Then the entry stays sent (the money may have gone out) and its budget stays spent
    entry = next(r for r in world.rewards(referral_id) if r.kind == "cash")
    assert entry.status == RewardStatus.SENT
    assert entry.last_error and "duplicate" in entry.last_error.lower()
    assert world.budget_left(program_id) == budget_left

    # And once the batch is known by its key, reconciliation settles the entry
    index.remember(entry.idempotency_key or "", "5UXD2E8A7EBQJ", world.clock.now())
    world.later(minutes=20)
    report = world.reconcile.run()
    assert cash.reward_id in report.confirmed
    settled = next(r for r in world.rewards(referral_id) if r.kind == "cash")
    assert settled.status == RewardStatus.CONFIRMED
