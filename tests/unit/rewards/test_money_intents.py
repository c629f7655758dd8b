"""The ledger's repositories speak intent: each staged change refuses with its own error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain.changes import BudgetShort, Contention
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import ReferralNotRewarding, RefundRecord, Reward, RewardMoved
from shared.domain.rewards import RewardStatus as S
from shared.repositories import keys
from shared.repositories.advocate_counters import (
    CLAWED_BACK_REFERRALS,
    REVERSED_REFERRALS,
    AdvocateCounters,
)
from shared.repositories.budget import ProgramBudget
from shared.repositories.payout_figures import PayoutFigures
from shared.repositories.referral_guards import ReferralGuards
from shared.repositories.rewards import PAGE, RewardRepository
from shared.repositories.unit_of_work import UnitOfWork
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Put
from tests.support import T0, unique


def _program(table: MemoryTable, left: str) -> str:
    program_id = unique("prg")
    pk, sk = keys.program(program_id)
    table.write([Put({"pk": pk, "sk": sk, "budget_left": Decimal(left), "budget_used": 0})])
    return program_id


def _advocate(table: MemoryTable) -> str:
    advocate_id = unique("adv")
    pk, sk = keys.advocate(advocate_id)
    table.write([Put({"pk": pk, "sk": sk, "type": "advocate"})])
    return advocate_id


def _reward(status: S = S.CREATED) -> Reward:
    referral_id = unique("ref")
    return Reward(
        reward_id=f"{referral_id}-advocate",
        referral_id=referral_id,
        program_id="prg_x",
        beneficiary="advocate",
        customer_id="c1",
        advocate_id="adv_x",
        kind="gift_card",
        amount=Decimal("10.00"),
        currency="USD",
        status=status,
        created_at=T0,
        updated_at=T0,
    )


def test_spending_more_than_the_budget_left_is_refused_as_budget_short() -> None:
    # Given a program with 5.00 left and an entry staged beside the spend
    table = MemoryTable()
    program_id = _program(table, "5.00")
    reward = _reward()
    changes = UnitOfWork(table).begin()
    RewardRepository(table).add(reward, within=changes)
    ProgramBudget.spend(program_id, Decimal("10.00"), within=changes)

    # When it commits, Then the budget's refusal is named and nothing is written
    with pytest.raises(BudgetShort) as refused:
        changes.commit()
    assert refused.value.program_id == program_id
    assert RewardRepository(table).get(reward.referral_id, reward.reward_id) is None
    assert ProgramBudget(table).left(program_id) == Decimal("5.00")


def test_spending_then_giving_back_leaves_the_budget_as_it_was() -> None:
    table = MemoryTable()
    program_id = _program(table, "50.00")
    budget = ProgramBudget(table)

    spend = UnitOfWork(table).begin()
    budget.spend(program_id, Decimal("20.00"), within=spend)
    spend.commit()
    assert budget.left(program_id) == Decimal("30.00")

    give_back = UnitOfWork(table).begin()
    budget.give_back(program_id, Decimal("20.00"), within=give_back)
    give_back.commit()
    assert budget.left(program_id) == Decimal("50.00")


def test_a_slot_taken_since_the_count_was_read_is_refused_as_contention() -> None:
    # Given an advocate whose first slot another release took after this one read 0
    table = MemoryTable()
    advocate_id = _advocate(table)
    counters = AdvocateCounters(table)
    seen, exists = counters.rewarded_referrals(advocate_id)
    first = UnitOfWork(table).begin()
    counters.take_slot(advocate_id, seen, exists, within=first)
    first.commit()

    # When this release takes the slot it read, Then it must read again
    late = UnitOfWork(table).begin()
    counters.take_slot(advocate_id, seen, exists, within=late)
    with pytest.raises(Contention):
        late.commit()
    assert counters.rewarded_referrals(advocate_id) == (1, True)


def test_a_reversal_is_counted_on_the_advocate_with_its_clawback() -> None:
    table = MemoryTable()
    advocate_id = _advocate(table)
    counters = AdvocateCounters(table)
    slot = UnitOfWork(table).begin()
    counters.take_slot(advocate_id, 0, False, within=slot)
    slot.commit()

    reversal = UnitOfWork(table).begin()
    counters.count_reversal(advocate_id, T0, clawed_back=True, within=reversal)
    reversal.commit()

    item = table.get(*keys.advocate(advocate_id))
    assert item is not None and item[REVERSED_REFERRALS] == 1
    assert item[CLAWED_BACK_REFERRALS] == 1
    history = counters.clawback_history(advocate_id)
    assert (history.clawed_back, history.rewarded) == (1, 1)


def test_an_entry_is_added_once() -> None:
    table = MemoryTable()
    rewards = RewardRepository(table)
    reward = _reward()
    first = UnitOfWork(table).begin()
    rewards.add(reward, within=first)
    first.commit()

    again = UnitOfWork(table).begin()
    rewards.add(reward, within=again)
    with pytest.raises(Contention):
        again.commit()


def test_saving_an_entry_read_at_an_older_version_is_refused_as_reward_moved() -> None:
    # Given an entry that was queued after it was read
    table = MemoryTable()
    rewards = RewardRepository(table)
    reward = _reward()
    added = UnitOfWork(table).begin()
    rewards.add(reward, within=added)
    added.commit()
    rewards.save(reward.moved(S.QUEUED, T0), reward.version)

    # When a change read before it saves, Then the entry's own error names it
    stale = UnitOfWork(table).begin()
    rewards.stage_save(reward.moved(S.CANCELLED, T0), reward.version, within=stale)
    with pytest.raises(RewardMoved) as refused:
        stale.commit()
    assert refused.value.reward_id == reward.reward_id


def test_an_entry_left_as_read_refuses_the_change_once_it_moved() -> None:
    table = MemoryTable()
    rewards = RewardRepository(table)
    reward = _reward()
    added = UnitOfWork(table).begin()
    rewards.add(reward, within=added)
    added.commit()
    rewards.save(reward.moved(S.QUEUED, T0), reward.version)

    changes = UnitOfWork(table).begin()
    rewards.stage_unchanged(reward, within=changes)
    with pytest.raises(RewardMoved):
        changes.commit()


def test_a_change_that_needs_a_rewarding_referral_is_refused_once_it_left_rewarding() -> None:
    # Given a referral already reversed
    table = MemoryTable()
    referral_id = unique("ref")
    pk, sk = keys.referral(referral_id)
    table.write([Put({"pk": pk, "sk": sk, "status": ReferralStatus.REVERSED.value})])

    # When a change is staged on it still rewarding, Then the referral's refusal is named
    changes = UnitOfWork(table).begin()
    ReferralGuards.still_rewarding(referral_id, within=changes)
    with pytest.raises(ReferralNotRewarding):
        changes.commit()


def test_a_refund_of_an_order_refunded_since_it_was_read_is_refused() -> None:
    # Given two refunds of one 45.00 order that both read nothing refunded yet
    table = MemoryTable()
    rewards = RewardRepository(table)
    referral_id, order_id = unique("ref"), unique("ord")

    def refund(amount: str, digest: str) -> None:
        record = RefundRecord(
            referral_id=referral_id,
            order_id=order_id,
            amount=Decimal(amount),
            currency="USD",
            occurred_at=T0,
            recorded_at=T0,
            body_hash=digest,
            order_amount_left=Decimal("45.00") - Decimal(amount),
            reversed=False,
        )
        changes = UnitOfWork(table).begin()
        rewards.record_refund(record, within=changes)
        rewards.add_refunded(
            referral_id,
            order_id,
            order_amount=Decimal("45.00"),
            seen=Decimal(0),
            exists=False,
            amount=Decimal(amount),
            within=changes,
        )
        changes.commit()

    refund("20.00", "a")

    # When the second commits, Then it is refused and only the first is kept
    with pytest.raises(Contention):
        refund("20.00", "b")
    assert rewards.refunded_of_order(referral_id, order_id) == (Decimal("20.00"), True)
    assert [r.body_hash for r in rewards.refunds_of_order(referral_id, order_id)] == ["a"]


def test_no_confirmed_entry_clawed_back_stages_no_figures() -> None:
    changes = UnitOfWork(MemoryTable()).begin()

    PayoutFigures.count_unpaid("prg_x", [], within=changes)

    assert len(changes) == 0


def test_every_entry_of_a_status_is_read_across_pages() -> None:
    # Given more queued entries than one page holds
    table = MemoryTable()
    rewards = RewardRepository(table)
    queued = [_reward(S.QUEUED) for _ in range(PAGE + 5)]
    changes = UnitOfWork(table).begin()
    for reward in queued:
        rewards.add(reward, within=changes)
    changes.commit()

    # When every queued entry is read, Then each is read once
    found = [r.reward_id for r in rewards.each_with_status(S.QUEUED)]
    assert sorted(found) == sorted(r.reward_id for r in queued)
