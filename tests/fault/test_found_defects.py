"""Defects the fault suite found, each pinned by the smallest scenario that shows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from shared.domain.referrals import ReferralStatus
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Put, WriteOp
from tests.fault.proxies import InjectionPlan, Injector, WorkerCrash
from tests.fault.world import BUDGET, FaultWorld


class CrashOnceBefore(MemoryTable):
    """A table whose process dies once, just before the first write `matches` picks."""

    def __init__(self, matches: Callable[[Sequence[WriteOp]], bool]) -> None:
        super().__init__()
        self._matches = matches
        self.crashed = False

    def write(self, ops: Sequence[WriteOp]) -> None:
        if not self.crashed and self._matches(ops):
            self.crashed = True
            raise WorkerCrash("before settling the referral")
        super().write(ops)


def settles_a_referral(ops: Sequence[WriteOp]) -> bool:
    first = ops[0] if ops else None
    return (
        isinstance(first, Put)
        and first.item.get("type") == "referral"
        and first.item.get("status") == ReferralStatus.REWARDED.value
    )


def test_a_crash_after_the_last_confirmation_still_ends_the_referral_rewarded() -> None:
    # Given a referral whose last reward was confirmed, and a worker that died just
    # before it moved the referral from rewarding to rewarded
    table = CrashOnceBefore(settles_a_referral)
    world = FaultWorld(table, Injector())
    world.arrange_program()
    referral_id, _ = world.refer_and_buy(world.arrange_advocate())
    world.deliver_scoring()
    world.run_release()
    world.deliver_rewards()
    assert table.crashed
    # When the message is redelivered and every scheduled job runs again
    world.quiesce()
    # Then the referral ends rewarded, as its confirmed rewards say it is
    referral = world.referral_repo.get(referral_id)
    assert referral is not None
    assert referral.status == ReferralStatus.REWARDED


def test_a_clawed_back_reward_that_was_never_paid_returns_its_amount_to_the_budget() -> None:
    # Given a gift card whose first payout attempt met a 503 before the provider
    # processed it, so the entry waits `sent` for its retry
    plan = InjectionPlan("PayoutProvider.create_order", "error_5xx_before", frozenset({1}), 0)
    world = FaultWorld(MemoryTable(), Injector(plan))
    world.arrange_program()
    world.injector.armed = True
    referral_id, order_id = world.refer_and_buy(world.arrange_advocate())
    world.deliver_scoring()
    world.run_release()
    world.deliver_rewards()
    assert world.injector.injected == 1
    # When the qualifying order is refunded before the retry, and everything settles
    world.refund(referral_id, order_id)
    world.quiesce()
    # Then the budget spent is what the providers paid, not the unpaid gift card too
    paid = sum(s.total_paid("USD") for s in world.sandboxes.values())
    assert BUDGET - world.budget_left() == paid


def test_a_crash_after_reconcile_confirms_the_last_reward_still_ends_the_referral_rewarded() -> (
    None
):
    # Given a gift card the provider paid while its worker died, whose message then ran
    # out of receives, so only reconciliation can confirm it
    plan = InjectionPlan("PayoutProvider.create_order", "crash_after", frozenset({1}), 0)
    table = CrashOnceBefore(settles_a_referral)
    world = FaultWorld(table, Injector(plan))
    world.arrange_program()
    world.injector.armed = True
    referral_id, _ = world.refer_and_buy(world.arrange_advocate())
    world.deliver_scoring()
    world.run_release()
    world.deliver_rewards()
    for message in world.reward_queues.queues["gift_card"].in_flight:
        message.outcome, message.reason = "dlq", "receives exhausted"
    # When reconciliation confirms it and dies before settling the referral, and every
    # scheduled job runs again
    world.clock.advance(timedelta(minutes=16))
    world.run_reconcile()
    assert table.crashed
    world.quiesce()
    # Then the referral ends rewarded
    referral = world.referral_repo.get(referral_id)
    assert referral is not None
    assert referral.status == ReferralStatus.REWARDED
