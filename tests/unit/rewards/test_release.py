"""The release job: holding period, budget, cap, tiers, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import RewardStatus
from shared.repositories.audit import AuditLog
from shared.repositories.rewards import REWARDED_REFERRALS
from shared.schemas.programs import ProgramUpdate
from shared.schemas.referrals import ReferralCreate
from shared.services.release import HOLD_BUDGET, HOLD_PAUSED
from tests.support import referral_body
from tests.unit.rewards.conftest import World


def test_release_creates_both_rewards_takes_the_budget_and_queues_them(world: World) -> None:
    # Given an approved referral in a program paying $10 each side
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)

    # When the release job runs
    report = world.release.run()

    # Then both rewards exist, are queued on their kind's queue, and the budget paid for them
    assert report.released == [referral_id]
    rewards = world.rewards(referral_id)
    assert {(r.beneficiary, r.kind, r.amount) for r in rewards} == {
        ("advocate", "gift_card", Decimal("10.00")),
        ("referee", "cash", Decimal("10.00")),
    }
    assert {r.status for r in rewards} == {RewardStatus.QUEUED}
    assert sorted(kind for kind, _ in world.queue.sent) == ["cash", "gift_card"]
    assert world.budget_left(program_id) == Decimal("4980.00")
    assert world.status(referral_id) == ReferralStatus.REWARDING


def test_holding_period_counts_from_the_qualifying_event(world: World) -> None:
    # Given a 14-day holding period and a referral qualified at T0
    program_id = world.program(holding_period_days=14)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)

    # When the job runs a minute early, nothing is released; at the 14th day it is
    early = world.release.run(world.clock.now() + timedelta(days=14, minutes=-1))
    due = world.release.run(world.clock.now() + timedelta(days=14))

    assert early.released == []
    assert due.released == [referral_id]


def test_zero_day_holding_period_releases_on_the_next_run(world: World) -> None:
    program_id = world.program(holding_period_days=0)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)

    assert world.release.run().released == [referral_id]


def test_running_release_twice_creates_nothing_twice(world: World) -> None:
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)

    world.release.run()
    second = world.release.run()

    assert second.released == []
    assert len(world.rewards(referral_id)) == 2
    assert world.budget_left(program_id) == Decimal("4980.00")


def test_budget_exhausted_mid_batch_holds_the_rest_and_never_overspends(world: World) -> None:
    # Given a $45 budget and three approved referrals costing $20 each
    program_id = world.program(budget={"amount": "45.00", "currency": "USD"})
    _, code = world.advocate(program_id)
    referral_ids = [world.approved(program_id, code) for _ in range(3)]

    # When the job runs
    report = world.release.run()

    # Then two are released, the third stays holding with the reason, $5 is left
    assert len(report.released) == 2
    held = [r for r in referral_ids if r not in report.released]
    assert report.held == {held[0]: HOLD_BUDGET}
    assert world.status(held[0]) == ReferralStatus.HOLDING
    assert world.rewards(held[0]) == []
    assert world.budget_left(program_id) == Decimal("5.00")


def test_a_budget_top_up_releases_the_held_referral_on_the_next_run(world: World) -> None:
    program_id = world.program(budget={"amount": "15.00", "currency": "USD"})
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    assert world.release.run().held == {referral_id: HOLD_BUDGET}

    world.programs.update(
        program_id,
        ProgramUpdate.model_validate(
            {"budget_top_up": {"amount": "5.00", "currency": "USD"}}
        ).command(),
    )

    assert world.release.run().released == [referral_id]
    assert world.budget_left(program_id) == Decimal("0.00")


def test_a_paused_program_holds_its_referrals(world: World) -> None:
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.programs.update(program_id, ProgramUpdate(status="paused").command())

    assert world.release.run().held == {referral_id: HOLD_PAUSED}
    assert world.status(referral_id) == ReferralStatus.HOLDING


def test_a_hold_survives_a_save_and_is_noted_once(world: World) -> None:
    # Given a paused program holding a due referral
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.programs.update(program_id, ProgramUpdate(status="paused").command())
    world.release.run()

    # When the referral is saved for another reason and the job runs again
    referral = world.referral_repo.get(referral_id)
    assert referral is not None
    world.referral_repo.save(referral.changed(world.clock.now()), referral.version)
    world.release.run()

    # Then the hold is still recorded, and only one release_held entry was written
    held = world.referral_repo.get(referral_id)
    assert held is not None and held.hold_reason == HOLD_PAUSED
    entries, _ = AuditLog(world.table).for_referral(referral_id, limit=100)
    actions = [e.action for e in entries]
    assert actions.count("referral.release_held") == 1


def test_parallel_releases_never_overspend_the_budget(world: World) -> None:
    # Given 30 approved referrals at $20 each, under a $210 budget (room for ten and a half)
    program_id = world.program(
        budget={"amount": "210.00", "currency": "USD"}, per_advocate_cap=None
    )
    referral_ids = []
    for _ in range(30):
        _, code = world.advocate(program_id)
        referral_ids.append(world.approved(program_id, code))

    # When eight threads release them all at once
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(ids: list[str]) -> None:
        for referral_id in ids:
            result = world.release.release(referral_id).result
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(referral_ids[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly ten are released and the budget is $10, never below zero
    assert outcomes.count("released") == 10
    assert world.budget_left(program_id) == Decimal("10.00")
    created = sum((r.amount for rid in referral_ids for r in world.rewards(rid)), start=Decimal(0))
    assert created == Decimal("200.00")


def test_tier_bonus_is_added_when_the_advocate_reaches_the_tier(world: World) -> None:
    # Given a tier at 3 successful referrals
    program_id = world.program(
        tiers=[
            {
                "min_successful_referrals": 3,
                "advocate_bonus": {"kind": "gift_card", "amount": "25.00", "currency": "USD"},
            }
        ]
    )
    _, code = world.advocate(program_id)
    referral_ids = [world.approved(program_id, code) for _ in range(4)]

    for referral_id in referral_ids:
        world.release.release(referral_id)

    # Then only the third referral carries the bonus, filed under it
    bonuses = [[r.tier for r in world.rewards(rid) if r.tier] for rid in referral_ids]
    assert bonuses == [[], [], [3], []]
    third = {r.reward_id: r.amount for r in world.rewards(referral_ids[2])}
    assert third[f"{referral_ids[2]}-tier3"] == Decimal("25.00")


def test_the_cap_withholds_the_advocate_reward_but_pays_the_referee(world: World) -> None:
    # Given a cap of two rewarded referrals per advocate
    program_id = world.program(per_advocate_cap=2, tiers=[])
    advocate_id, code = world.advocate(program_id)
    referral_ids = [world.approved(program_id, code) for _ in range(3)]

    for referral_id in referral_ids:
        world.release.release(referral_id)

    # Then the third referral pays only its referee, and the counter stops at the cap
    beneficiaries = [sorted(r.beneficiary for r in world.rewards(rid)) for rid in referral_ids]
    assert beneficiaries == [["advocate", "referee"], ["advocate", "referee"], ["referee"]]
    item = world.table.get(f"ADVOCATE#{advocate_id}", "ADVOCATE")
    assert item is not None and item[REWARDED_REFERRALS] == 2


def test_the_cap_with_nothing_left_to_pay_closes_the_referral(world: World) -> None:
    # Given an advocate-only program with a cap of one
    program_id = world.program(
        per_advocate_cap=1,
        tiers=[],
        rewards={"advocate": {"kind": "gift_card", "amount": "10.00", "currency": "USD"}},
    )
    _, code = world.advocate(program_id)
    first, second = world.approved(program_id, code), world.approved(program_id, code)

    world.release.release(first)
    outcome = world.release.release(second)

    assert outcome.result == "released" and outcome.rewards == ()
    assert world.status(second) == ReferralStatus.REWARDED


def test_parallel_releases_of_one_advocate_never_exceed_the_cap(world: World) -> None:
    # Given one advocate with twelve approved referrals and a cap of five
    program_id = world.program(per_advocate_cap=5, tiers=[])
    _, code = world.advocate(program_id)
    referral_ids = [world.approved(program_id, code) for _ in range(12)]

    # When six threads release them at once
    threads = [
        threading.Thread(
            target=lambda ids: [world.release.release(r) for r in ids], args=(referral_ids[i::6],)
        )
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every referee is paid but only five advocate rewards exist
    rewards = [r for rid in referral_ids for r in world.rewards(rid)]
    assert sum(r.beneficiary == "advocate" for r in rewards) == 5
    assert sum(r.beneficiary == "referee" for r in rewards) == 12


def test_pending_referrals_past_the_attribution_window_expire(world: World) -> None:
    program_id = world.program(attribution_window_days=30)
    _, code = world.advocate(program_id)
    referral = world.intake.create(
        ReferralCreate.model_validate(referral_body(program_id, code)).command()
    )

    not_yet = world.release.run(world.clock.now() + timedelta(days=30))
    expired = world.release.run(world.clock.now() + timedelta(days=30, seconds=1))

    assert not_yet.expired == []
    assert expired.expired == [referral.referral_id]
    assert world.status(referral.referral_id) == ReferralStatus.EXPIRED


def test_a_created_entry_whose_message_was_lost_is_queued_again(world: World) -> None:
    # Given a release whose queue send failed (the process died between commit and send)
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)

    class DownQueue:
        def send_reward(self, kind: str, reward_id: str, referral_id: str) -> None:
            raise ConnectionError("queue unreachable")

    world.services(reward_queue=DownQueue()).release.release(referral_id)
    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CREATED}

    # When the next run comes after the grace period
    report = world.release.run(world.clock.now() + timedelta(minutes=10))

    # Then both entries are queued
    assert sorted(report.queued) == sorted(r.reward_id for r in world.rewards(referral_id))
    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.QUEUED}
