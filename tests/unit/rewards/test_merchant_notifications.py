"""Fulfilment and clawbacks tell merchants: `reward.paid` once per confirmed entry, however
often its message comes back, and `reward.clawed_back` for each entry a refund claws back."""

from __future__ import annotations

from shared.adapters.webhook_queue import MemoryWebhookQueue
from shared.bootstrap import bootstrap
from shared.domain.reward_commands import Reverse
from shared.domain.rewards import RewardStatus
from shared.domain.webhooks import WebhookEvent
from shared.pii import PiiHasher
from tests.unit.rewards.conftest import World


def _told(world: World) -> MemoryWebhookQueue:
    """The world's fulfilment and refunds, telling merchants through a memory queue."""
    outbox = MemoryWebhookQueue()
    services = bootstrap(
        table=world.table,
        clock=world.clock,
        hasher=PiiHasher(lambda: b"k" * 32),
        providers=world.providers,
        reward_queue=world.queue,
        notifications=outbox,
    )
    world.fulfilment = services.fulfilment()
    world.refunds = services.refunds
    return outbox


def _paid(world: World) -> str:
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    world.drain()
    return referral_id


def _ids(events: list[WebhookEvent]) -> set[str]:
    return {e.event_id for e in events}


def test_each_confirmed_entry_is_told_once_as_paid(world: World) -> None:
    outbox = _told(world)

    referral_id = _paid(world)

    paid = outbox.of_type("reward.paid")
    rewards = world.rewards(referral_id)
    assert {e.data["reward_id"] for e in paid} == {r.reward_id for r in rewards}
    for event in paid:
        assert event.data["status"] == "confirmed" and event.data["amount"]
        assert "recipient_email" not in event.data


def test_a_redelivered_message_of_a_paid_entry_is_the_same_event(world: World) -> None:
    outbox = _told(world)
    referral_id = _paid(world)
    first = _ids(outbox.of_type("reward.paid"))

    for reward in world.rewards(referral_id):
        world.queue.send_reward(reward.kind, reward.reward_id, referral_id)
    world.drain()

    assert _ids(outbox.of_type("reward.paid")) == first


def test_a_refund_after_payout_tells_each_clawed_back_entry(world: World) -> None:
    outbox = _told(world)
    referral_id = _paid(world)
    world.later(days=1)

    world.refund(referral_id, world.order_of(referral_id), "45.00")

    clawed = outbox.of_type("reward.clawed_back")
    rewards = world.rewards(referral_id)
    assert {r.status for r in rewards} == {RewardStatus.CLAWED_BACK}
    assert {e.data["reward_id"] for e in clawed} == {r.reward_id for r in rewards}
    for event in clawed:
        assert event.data["refund_order_id"] == world.order_of(referral_id)
        assert event.data["clawback_amount"] == event.data["amount"]
        assert event.created_at == world.clock.now()


def test_a_refund_before_payout_claws_nothing_back_and_tells_nothing(world: World) -> None:
    outbox = _told(world)
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()

    world.refund(referral_id, world.order_of(referral_id), "45.00")

    assert outbox.of_type("reward.clawed_back") == []


def test_finance_reversal_of_a_paid_referral_tells_each_clawed_back_entry(world: World) -> None:
    outbox = MemoryWebhookQueue()
    services = bootstrap(
        table=world.table,
        clock=world.clock,
        hasher=PiiHasher(lambda: b"k" * 32),
        providers=world.providers,
        reward_queue=world.queue,
        notifications=outbox,
    )
    referral_id = _paid(world)
    world.later(hours=2)

    services.finance_reversal.reverse(referral_id, Reverse(note="goodwill error"), "fin-1")

    clawed = outbox.of_type("reward.clawed_back")
    assert {e.data["reward_id"] for e in clawed} == {
        r.reward_id for r in world.rewards(referral_id)
    }
    assert all(e.data["refund_order_id"] is None for e in clawed)
    assert "goodwill error" not in str([e.payload() for e in clawed])
