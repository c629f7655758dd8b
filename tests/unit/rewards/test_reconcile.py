"""Reconciliation: stuck entries follow the provider's record; mismatches are reported."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

from shared.domain.rewards import RewardStatus
from shared.payouts import PayoutRequest, idempotency_key_for
from shared.services.reconcile import reward_id_of_key
from tests.unit.rewards.conftest import World
from tests.unit.rewards.test_fulfilment import DiesAfterPaying, ProcessDied


def _released(world: World) -> str:
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    return referral_id


def test_a_stuck_sent_entry_whose_order_exists_is_confirmed_not_paid_again(world: World) -> None:
    # Given a delivery that died after paying, and whose message was then lost
    referral_id = _released(world)
    crashing = world.services(
        providers={name: DiesAfterPaying(p) for name, p in world.providers.items()}
    ).fulfilment()
    for _, message in world.queue.take():
        with contextlib.suppress(ProcessDied):
            crashing.fulfil(message)

    # When reconciliation runs later
    world.later(minutes=20)
    report = world.reconcile.run()

    # Then both entries are confirmed from the provider's record, nothing re-issued
    assert sorted(report.confirmed) == sorted(r.reward_id for r in world.rewards(referral_id))
    assert report.requeued == []
    assert len(world.paid_orders()) == 2
    assert world.status(referral_id).value == "rewarded"
    assert report.clean


def test_a_stuck_queued_entry_without_an_order_is_queued_again(world: World) -> None:
    # Given queued entries whose messages were lost
    referral_id = _released(world)
    world.queue.take()

    # When reconciliation runs after the stuck threshold
    world.later(minutes=20)
    report = world.reconcile.run()

    # Then it found no order by key and queued them again; delivering pays once each
    assert sorted(report.requeued) == sorted(r.reward_id for r in world.rewards(referral_id))
    world.drain()
    assert len(world.paid_orders()) == 2


def test_recent_entries_are_left_to_the_queue(world: World) -> None:
    _released(world)

    report = world.reconcile.run()

    assert report.checked == 0 and report.requeued == []


def test_an_order_without_a_ledger_entry_is_reported(world: World) -> None:
    stray = "ref_stray-advocate"
    world.providers["gift_card"].create_order(
        PayoutRequest(
            idempotency_key=idempotency_key_for(stray, "sandbox_gift_card"),
            reward_id=stray,
            kind="gift_card",
            amount=Decimal("10.00"),
            currency="USD",
            recipient_email="someone@example.com",
        )
    )

    report = world.reconcile.run()

    assert [m.code for m in report.mismatches] == ["order_without_entry"]
    assert report.mismatches[0].reward_id == stray
    assert not report.clean


def test_a_paid_order_for_a_cancelled_entry_is_reported(world: World) -> None:
    referral_id = _released(world)
    advocate = next(r for r in world.rewards(referral_id) if r.beneficiary == "advocate")
    world.refund(referral_id, world.order_of(referral_id), "45.00")
    world.providers["gift_card"].create_order(
        PayoutRequest(
            idempotency_key=idempotency_key_for(advocate.reward_id, "sandbox_gift_card"),
            reward_id=advocate.reward_id,
            kind="gift_card",
            amount=advocate.amount,
            currency="USD",
            recipient_email="someone@example.com",
        )
    )

    report = world.reconcile.run(world.clock.now() + timedelta(minutes=1))

    assert [m.code for m in report.mismatches] == ["paid_but_cancelled"]


def test_a_clean_ledger_reconciles_clean(world: World) -> None:
    _released(world)
    world.drain()

    report = world.reconcile.run(world.clock.now() + timedelta(hours=1))

    assert report.clean and report.provider_orders_seen == 2
    assert report.as_dict()["clean"] is True


def test_readable_keys_name_their_reward() -> None:
    assert reward_id_of_key("rwd-ref_1-advocate") == "ref_1-advocate"
    assert reward_id_of_key("rwd-ref_1-advocate.2") == "ref_1-advocate"
    assert reward_id_of_key("rwh-abcdef") is None


def test_a_confirmed_entry_is_never_sent_again_by_reconcile(world: World) -> None:
    referral_id = _released(world)
    world.drain()

    world.reconcile.run(world.clock.now() + timedelta(days=1))

    assert world.queue.sent == []
    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CONFIRMED}
