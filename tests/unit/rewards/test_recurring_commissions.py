"""Recurring commissions: each later purchase within `recurring_months` earns its own
entry `<referral_id>-advocate-order-<order_id>`, held for the holding period, paid once
through the budget, while the referral stays `rewarded`."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardStatus
from shared.schemas.referrals import EventCreate
from shared.schemas.rewards import RefundCreate
from shared.storage.memory_table import MemoryTable
from shared.storage.table import WriteOp
from tests.support import purchase_body, unique
from tests.unit.rewards.conftest import World

TEN_PERCENT = {"kind": "cash", "percent_of_order": "10", "currency": "USD"}


def _rewarded(world: World, **program: Any) -> str:
    """A referral of a 10% commission program recurring for 3 months, released and paid."""
    program_id = world.program(rewards={"advocate": TEN_PERCENT}, recurring_months=3, **program)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code, amount="45.00")
    world.release.run()
    world.drain()
    return referral_id


def _purchase(world: World, referral_id: str, order_id: str, amount: str) -> None:
    body = purchase_body(order_id=order_id, amount=amount)
    world.events.record(referral_id, EventCreate.model_validate(body).command())


def _entry(world: World, referral_id: str, order_id: str) -> Reward | None:
    return world.reward_repo.get(referral_id, f"{referral_id}-advocate-order-{order_id}")


def test_a_later_purchase_earns_its_own_commission_entry(world: World) -> None:
    # Given a rewarded referral of a recurring commission program
    referral_id = _rewarded(world)
    order_id = unique("ord")

    # When the referee buys again for 80.00
    world.later(days=10)
    _purchase(world, referral_id, order_id, "80.00")

    # Then a held 8.00 entry is created for that order, and the budget spent it
    entry = _entry(world, referral_id, order_id)
    assert entry is not None
    assert (entry.amount, entry.status, entry.order_id) == (
        Decimal("8.00"),
        RewardStatus.CREATED,
        order_id,
    )
    program = world.programs.get(entry.program_id)
    assert program.budget_used == Decimal("12.50")


def test_the_referral_stays_rewarded_while_later_commissions_are_paid(world: World) -> None:
    referral_id = _rewarded(world)
    order_id = unique("ord")
    world.later(days=1)
    _purchase(world, referral_id, order_id, "20.00")

    world.release.run()
    world.drain()

    entry = _entry(world, referral_id, order_id)
    assert entry is not None and entry.status == RewardStatus.CONFIRMED
    referral = world.referral_repo.get(referral_id)
    assert referral is not None and referral.status == ReferralStatus.REWARDED


def test_a_later_commission_waits_for_the_holding_period(world: World) -> None:
    # Given a program holding rewards for 7 days
    program_id = world.program(
        rewards={"advocate": TEN_PERCENT}, recurring_months=3, holding_period_days=7
    )
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code, amount="45.00")
    world.later(days=7)
    world.release.run()
    order_id = unique("ord")
    world.later(days=1)
    _purchase(world, referral_id, order_id, "20.00")

    # When the release job runs within the holding period, and then after it
    world.later(days=6)
    world.release.run()
    held = _entry(world, referral_id, order_id)
    world.later(days=1, seconds=1)
    world.release.run()

    # Then the entry is queued only after its holding period
    assert held is not None and held.status == RewardStatus.CREATED
    queued = _entry(world, referral_id, order_id)
    assert queued is not None and queued.status == RewardStatus.QUEUED


def test_a_purchase_after_the_recurring_months_earns_nothing(world: World) -> None:
    referral_id = _rewarded(world)
    order_id = unique("ord")

    world.later(days=91)
    _purchase(world, referral_id, order_id, "20.00")

    assert _entry(world, referral_id, order_id) is None


def test_a_program_without_recurring_months_pays_only_the_qualifying_order(
    world: World,
) -> None:
    program_id = world.program(rewards={"advocate": TEN_PERCENT})
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code, amount="45.00")
    world.release.run()
    order_id = unique("ord")

    world.later(days=1)
    _purchase(world, referral_id, order_id, "20.00")

    assert _entry(world, referral_id, order_id) is None


def test_a_redelivered_purchase_creates_no_second_entry(world: World) -> None:
    referral_id = _rewarded(world)
    order_id = unique("ord")
    world.later(days=1)
    body = EventCreate.model_validate(purchase_body(order_id=order_id, amount="20.00")).command()

    first = world.events.record(referral_id, body)
    again = world.events.record(referral_id, body)

    assert (first.replayed, again.replayed) == (False, True)
    commissions = [r for r in world.reward_repo.of_referral(referral_id) if r.order_id]
    assert [r.reward_id for r in commissions] == [f"{referral_id}-advocate-order-{order_id}"]
    assert world.programs.get(commissions[0].program_id).budget_used == Decimal("6.50")


class MeetBeforeWriting:
    """A table that holds each caller's first write until all `parties` have read."""

    def __init__(self, inner: MemoryTable, parties: int) -> None:
        self._inner = inner
        self._barrier = threading.Barrier(parties, timeout=5)
        self._waited: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write(self, ops: list[WriteOp]) -> None:
        me = threading.get_ident()
        if me not in self._waited:
            self._waited.add(me)
            self._barrier.wait()
        self._inner.write(ops)


def test_two_concurrent_deliveries_of_one_purchase_create_one_entry(world: World) -> None:
    # Given a rewarded referral, and two deliveries of one later purchase that both read
    # before either writes
    referral_id = _rewarded(world)
    order_id = unique("ord")
    world.later(days=1)
    body = EventCreate.model_validate(purchase_body(order_id=order_id, amount="20.00")).command()
    events = world.services(table=MeetBeforeWriting(world.table, 2)).events
    outcomes: list[bool] = []

    def deliver() -> None:
        outcomes.append(events.record(referral_id, body).replayed)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then one recorded it, the other replayed it; one entry, the budget spent once
    assert sorted(outcomes) == [False, True]
    commissions = [r for r in world.reward_repo.of_referral(referral_id) if r.order_id]
    assert len(commissions) == 1
    assert world.programs.get(commissions[0].program_id).budget_used == Decimal("6.50")


def test_a_commission_the_budget_cannot_cover_is_not_created_but_the_order_is_recorded(
    world: World,
) -> None:
    referral_id = _rewarded(world, budget={"amount": "5.00", "currency": "USD"})
    order_id = unique("ord")
    world.later(days=1)

    _purchase(world, referral_id, order_id, "20.00")

    assert _entry(world, referral_id, order_id) is None
    assert any(e.order_id == order_id for e in world.referral_repo.events(referral_id))


def _refund(world: World, referral_id: str, order_id: str, amount: str) -> None:
    body = {"order_id": order_id, "amount": amount, "currency": "USD"}
    world.refunds.record(referral_id, RefundCreate.model_validate(body).command())


def test_a_partial_refund_of_a_paid_later_order_claws_back_its_share(world: World) -> None:
    # Given a paid 8.00 commission on an 80.00 later order
    referral_id = _rewarded(world)
    order_id = unique("ord")
    world.later(days=1)
    _purchase(world, referral_id, order_id, "80.00")
    world.release.run()
    world.drain()

    # When a quarter of the order is refunded
    _refund(world, referral_id, order_id, "20.00")

    # Then a quarter of the commission is clawed back; the referral stays rewarded
    entry = _entry(world, referral_id, order_id)
    assert entry is not None and entry.clawback is not None
    assert (entry.status, entry.amount, entry.clawback.amount) == (
        RewardStatus.CLAWED_BACK,
        Decimal("8.00"),
        Decimal("2.00"),
    )
    assert entry.clawback.refund_order_id == order_id
    referral = world.referral_repo.get(referral_id)
    assert referral is not None and referral.status == ReferralStatus.REWARDED


def test_refunds_of_a_paid_order_claw_back_cumulatively_up_to_the_entry(world: World) -> None:
    referral_id = _rewarded(world)
    order_id = unique("ord")
    world.later(days=1)
    _purchase(world, referral_id, order_id, "80.00")
    world.release.run()
    world.drain()

    _refund(world, referral_id, order_id, "20.00")
    _refund(world, referral_id, order_id, "60.00")

    entry = _entry(world, referral_id, order_id)
    assert entry is not None and entry.clawback is not None
    assert entry.clawback.amount == Decimal("8.00")


def test_a_partial_refund_before_the_payout_lowers_the_entry_and_returns_budget(
    world: World,
) -> None:
    referral_id = _rewarded(world)
    order_id = unique("ord")
    world.later(days=1)
    _purchase(world, referral_id, order_id, "80.00")

    _refund(world, referral_id, order_id, "20.00")

    entry = _entry(world, referral_id, order_id)
    assert entry is not None
    assert (entry.status, entry.amount, entry.clawback) == (
        RewardStatus.CREATED,
        Decimal("6.00"),
        None,
    )
    assert world.programs.get(entry.program_id).budget_used == Decimal("10.50")


def test_a_full_refund_before_the_payout_cancels_the_entry(world: World) -> None:
    referral_id = _rewarded(world)
    order_id = unique("ord")
    world.later(days=1)
    _purchase(world, referral_id, order_id, "80.00")

    _refund(world, referral_id, order_id, "80.00")

    entry = _entry(world, referral_id, order_id)
    assert entry is not None and entry.status == RewardStatus.CANCELLED
    assert world.programs.get(entry.program_id).budget_used == Decimal("4.50")


def test_a_partial_refund_of_the_qualifying_order_claws_back_its_commission_share(
    world: World,
) -> None:
    referral_id = _rewarded(world)

    _refund(world, referral_id, world.order_of(referral_id), "9.00")

    entry = world.reward_repo.get(referral_id, f"{referral_id}-advocate")
    assert entry is not None and entry.clawback is not None
    assert (entry.status, entry.clawback.amount) == (RewardStatus.CLAWED_BACK, Decimal("0.90"))


def test_a_later_commission_counts_in_the_months_caps(world: World) -> None:
    # Given an advocate allowed 10.00 a month, 4.50 of it paid on the qualifying order
    caps = {"per_advocate_per_month": {"amount": "10.00", "currency": "USD"}}
    referral_id = _rewarded(world, caps=caps)
    fits, over = unique("ord"), unique("ord")
    world.later(hours=1)

    # When the referee buys for 50.00 (5.00 fits) and then for 80.00 (8.00 does not)
    _purchase(world, referral_id, fits, "50.00")
    _purchase(world, referral_id, over, "80.00")

    # Then only the one that fits the month earns an entry; both orders are recorded
    assert _entry(world, referral_id, fits) is not None
    assert _entry(world, referral_id, over) is None
    recorded = {e.order_id for e in world.referral_repo.events(referral_id)}
    assert {fits, over} <= recorded


def test_reconciliation_leaves_a_later_commission_in_its_holding_period_alone(
    world: World,
) -> None:
    # Given a later commission held for 7 days, recorded an hour ago
    referral_id = _rewarded(world, holding_period_days=7)
    world.later(days=7)
    world.release.run()
    world.drain()
    order_id = unique("ord")
    _purchase(world, referral_id, order_id, "20.00")
    world.later(hours=1)

    # When reconciliation runs
    report = world.reconcile.run()

    # Then the entry is neither queued nor reported
    entry = _entry(world, referral_id, order_id)
    assert entry is not None and entry.status == RewardStatus.CREATED
    assert world.queue.take() == []
    assert report.clean


def test_reconciliation_finds_a_paid_later_commission_by_its_hashed_key(world: World) -> None:
    # Given a paid later commission whose id is too long for a readable provider key
    referral_id = _rewarded(world)
    order_id = unique("ord-with-a-long-merchant-order-number")
    world.later(days=1)
    _purchase(world, referral_id, order_id, "20.00")
    world.release.run()
    world.drain()
    entry = _entry(world, referral_id, order_id)
    assert entry is not None and entry.idempotency_key is not None
    assert entry.idempotency_key.startswith("rwh-")

    # When reconciliation runs, Then the provider's order is the entry's: no mismatch
    report = world.reconcile.run()

    assert report.mismatches == []
