"""Points rewards go through the same ledger, budget, caps, fulfilment and refunds as money
rewards, and each paid points entry credits the customer's points ledger exactly once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

from shared.domain.customers import pseudonym
from shared.domain.points import RedeemPoints
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardMessage, RewardStatus
from shared.pii import PiiHasher
from shared.repositories.points import PointsLedger
from shared.repositories.unit_of_work import UnitOfWork
from shared.services.points import PointsService
from tests.support import T0, unique
from tests.unit.rewards.conftest import World

POINT_VALUE = {"amount": "0.01", "currency": "USD"}


def _points_program(world: World, **overrides: Any) -> str:
    rewards = {
        "advocate": {"kind": "points", "points": "500"},
        "referee": {"kind": "cash", "amount": "10.00", "currency": "USD"},
    }
    return world.program(
        **{"rewards": rewards, "tiers": [], "point_value": POINT_VALUE, **overrides}
    )


def _released(world: World, program_id: str) -> tuple[str, list[tuple[str, RewardMessage]]]:
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    return referral_id, world.queue.take()


def _points_message(messages: list[tuple[str, RewardMessage]]) -> RewardMessage:
    return next(m for kind, m in messages if kind == "points")


def _advocate_entry(world: World, referral_id: str) -> Reward:
    return next(r for r in world.rewards(referral_id) if r.beneficiary == "advocate")


def _points(world: World) -> PointsService:
    return world.services().points


def _balance(world: World, entry: Reward) -> tuple[int, int]:
    statement, _ = _points(world).statement(
        entry.customer_id, entry.program_id, limit=50, cursor=None
    )
    return statement.account.balance, statement.account.debt


def test_a_points_entry_is_worth_its_points_at_the_point_value(world: World) -> None:
    program_id = _points_program(world)

    referral_id, messages = _released(world, program_id)

    entry = _advocate_entry(world, referral_id)
    assert (entry.kind, entry.points, entry.amount) == ("points", 500, Decimal("5.00"))
    assert ("points", entry.reward_id) in [(k, m.reward_id) for k, m in messages]
    assert world.budget_left(program_id) == Decimal("5000.00") - Decimal("15.00")


def test_delivering_a_points_entry_credits_the_ledger_and_confirms_it(world: World) -> None:
    referral_id, messages = _released(world, _points_program(world))

    for _, message in messages:
        world.deliver(message)

    entry = _advocate_entry(world, referral_id)
    assert entry.status == RewardStatus.CONFIRMED
    assert entry.provider == "points_ledger"
    assert _balance(world, entry) == (500, 0)
    assert world.status(referral_id) == ReferralStatus.REWARDED


def test_duplicate_delivery_of_a_points_entry_credits_once(world: World) -> None:
    referral_id, messages = _released(world, _points_program(world))
    message = _points_message(messages)

    outcomes = [world.deliver(message) for _ in range(4)]

    assert [o.action for o in outcomes if o] == ["paid"] + ["settled_already"] * 3
    assert _balance(world, _advocate_entry(world, referral_id)) == (500, 0)


def test_concurrent_duplicate_deliveries_of_a_points_entry_credit_once(world: World) -> None:
    # Given one points entry queued, delivered eight times at once
    referral_id, messages = _released(world, _points_program(world))
    message = _points_message(messages)
    start = threading.Barrier(8)

    def deliver() -> None:
        start.wait()
        world.deliver(message)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the ledger holds one credit
    entry = _advocate_entry(world, referral_id)
    statement, _ = _points(world).statement(
        entry.customer_id, entry.program_id, limit=50, cursor=None
    )
    assert statement.account.balance == 500
    assert [e.kind for e in statement.history] == ["earned"]


def test_a_refund_before_payout_cancels_the_points_and_credits_nothing(world: World) -> None:
    program_id = _points_program(world)
    referral_id, messages = _released(world, program_id)

    world.refund(referral_id, world.order_of(referral_id), "45.00")
    world.deliver(_points_message(messages))

    entry = _advocate_entry(world, referral_id)
    assert entry.status == RewardStatus.CANCELLED
    assert _balance(world, entry) == (0, 0)
    assert world.budget_left(program_id) == Decimal("5000.00")


def test_a_refund_after_payout_takes_the_points_back(world: World) -> None:
    referral_id, messages = _released(world, _points_program(world))
    for _, message in messages:
        world.deliver(message)

    world.refund(referral_id, world.order_of(referral_id), "45.00")

    entry = _advocate_entry(world, referral_id)
    assert entry.status == RewardStatus.CLAWED_BACK
    assert _balance(world, entry) == (0, 0)


def test_a_refund_after_a_redemption_leaves_the_redeemed_points_as_debt(world: World) -> None:
    # Given 500 points earned, 350 of them redeemed
    referral_id, messages = _released(world, _points_program(world))
    for _, message in messages:
        world.deliver(message)
    entry = _advocate_entry(world, referral_id)
    _points(world).redeem(entry.customer_id, RedeemPoints(entry.program_id, 350, unique("order")))

    # When the purchase is refunded
    world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then what was left goes, and what was redeemed is owed
    assert _balance(world, entry) == (0, 350)
    statement, _ = _points(world).statement(
        entry.customer_id, entry.program_id, limit=50, cursor=None
    )
    assert [e.kind for e in statement.history] == ["clawed_back", "redeemed", "earned"]


def test_later_earnings_repay_the_debt_before_the_balance_grows(world: World) -> None:
    # Given an advocate owing 350 points
    program_id = _points_program(world)
    advocate_id, code = world.advocate(program_id)
    first = world.approved(program_id, code)
    world.release.run()
    world.drain()
    entry = _advocate_entry(world, first)
    _points(world).redeem(entry.customer_id, RedeemPoints(program_id, 350, unique("order")))
    world.refund(first, world.order_of(first), "45.00")

    # When a second referral of the same advocate earns 500 points
    second = world.approved(program_id, code)
    world.release.run()
    world.drain()

    # Then 350 repay the debt and 150 reach the balance
    assert _balance(world, entry) == (150, 0)
    assert advocate_id
    assert _advocate_entry(world, second).status == RewardStatus.CONFIRMED


# --- erasure -----------------------------------------------------------------------------


def _erased_alias(world: World, customer_id: str) -> str:
    world.services().customers.erase(customer_id, "dpo-1")
    return pseudonym(PiiHasher(lambda: b"k" * 32), customer_id)


def test_erasure_moves_the_points_account_under_the_pseudonym_with_its_history(
    world: World,
) -> None:
    # Given an advocate who earned 500 points and redeemed 200
    referral_id, messages = _released(world, _points_program(world))
    for _, message in messages:
        world.deliver(message)
    entry = _advocate_entry(world, referral_id)
    _points(world).redeem(entry.customer_id, RedeemPoints(entry.program_id, 200, "order-1"))

    # When the advocate is erased
    alias = _erased_alias(world, entry.customer_id)

    # Then no item names the raw id, and the account is whole under the pseudonym
    assert entry.customer_id not in json.dumps(world.table.all_items(), default=str)
    statement, _ = _points(world).statement(alias, entry.program_id, limit=50, cursor=None)
    assert (statement.account.balance, statement.account.debt) == (300, 0)
    assert [e.kind for e in statement.history] == ["redeemed", "earned"]


def test_a_refund_after_erasure_takes_the_points_from_the_pseudonymised_account(
    world: World,
) -> None:
    referral_id, messages = _released(world, _points_program(world))
    for _, message in messages:
        world.deliver(message)
    entry = _advocate_entry(world, referral_id)
    alias = _erased_alias(world, entry.customer_id)

    world.refund(referral_id, world.order_of(referral_id), "45.00")

    statement, _ = _points(world).statement(alias, entry.program_id, limit=50, cursor=None)
    assert (statement.account.balance, statement.account.clawed_back) == (0, 500)


def test_erasure_joins_an_account_a_credit_opened_under_the_pseudonym_meanwhile(
    world: World,
) -> None:
    # Given the raw account holds 500 points and one under the pseudonym already holds 100
    referral_id, messages = _released(world, _points_program(world))
    for _, message in messages:
        world.deliver(message)
    entry = _advocate_entry(world, referral_id)
    alias = pseudonym(PiiHasher(lambda: b"k" * 32), entry.customer_id)
    ledger = PointsLedger(world.table)
    opened = ledger.account(entry.program_id, alias).earn(100, T0, reward_id="raced-tier3")
    changes = UnitOfWork(world.table).begin()
    ledger.post(opened, within=changes)
    changes.commit()

    # When the customer is erased
    _erased_alias(world, entry.customer_id)

    # Then one account holds both
    account = ledger.account(entry.program_id, alias)
    assert (account.balance, account.earned) == (600, 600)
    assert ledger.account(entry.program_id, entry.customer_id).version == 0


# --- reconciliation ------------------------------------------------------------------------


def test_reconciliation_finds_confirmed_points_entries_clean(world: World) -> None:
    # Given a points entry confirmed on the ledger (no provider holds an order for it)
    referral_id, messages = _released(world, _points_program(world))
    for _, message in messages:
        world.deliver(message)

    # When reconciliation runs
    report = world.reconcile.run(world.clock.now() + timedelta(hours=1))

    # Then it neither misses an order nor an unknown provider
    assert report.clean, report.as_dict()
    assert _advocate_entry(world, referral_id).status == RewardStatus.CONFIRMED


def test_reconciliation_requeues_a_points_entry_whose_message_was_lost(world: World) -> None:
    # Given a released points entry whose queue message never arrived
    referral_id, _lost = _released(world, _points_program(world))

    # When reconciliation runs after the entry has been stuck a while, and the queue drains
    report = world.reconcile.run(world.clock.now() + timedelta(hours=1))
    world.drain()

    # Then the entry was queued again and credited once
    entry = _advocate_entry(world, referral_id)
    assert entry.reward_id in report.requeued
    assert entry.status == RewardStatus.CONFIRMED
    assert _balance(world, entry) == (500, 0)
