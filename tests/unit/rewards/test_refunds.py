"""Refunds: decided by ledger state; partial refunds reverse only below min_order_value."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.clock import iso
from shared.domain.referrals import ReferralStatus, Risk
from shared.domain.rewards import RewardStatus
from shared.errors import InvalidRequest, NotFound
from shared.repositories.reviews import ReviewIndex
from shared.repositories.rewards import CLAWED_BACK_REFERRALS, REVERSED_REFERRALS
from shared.schemas.referrals import EventCreate
from shared.scoring import rules
from shared.services.ledger import Change
from tests.support import purchase_body
from tests.unit.rewards.conftest import World


def _setup(world: World, **program: object) -> tuple[str, str, str]:
    program_id = world.program(**program)
    advocate_id, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    return program_id, advocate_id, referral_id


def test_refund_before_payout_cancels_rewards_and_returns_the_budget(world: World) -> None:
    # Given released rewards still waiting in the queue
    program_id, _, referral_id = _setup(world)
    world.release.run()
    assert world.budget_left(program_id) == Decimal("4980.00")

    # When the qualifying order is refunded in full
    outcome = world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then the rewards are cancelled, the budget is back, the referral is reversed
    assert outcome.record.reversed and outcome.status == ReferralStatus.REVERSED
    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CANCELLED}
    assert world.budget_left(program_id) == Decimal("5000.00")


def test_refund_after_payout_claws_back_with_when_why_and_how_much(world: World) -> None:
    # Given rewards paid and confirmed
    program_id, advocate_id, referral_id = _setup(world)
    world.release.run()
    world.drain()
    assert world.status(referral_id) == ReferralStatus.REWARDED

    # When the order is refunded a day later
    world.later(days=1)
    outcome = world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then the paid entries are clawed back (not cancelled), the budget stays spent
    assert outcome.status == ReferralStatus.REVERSED
    for reward in world.rewards(referral_id):
        assert reward.status == RewardStatus.CLAWED_BACK
        assert reward.clawback is not None
        assert reward.clawback.amount == reward.amount
        assert reward.clawback.at == world.clock.now()
        assert world.order_of(referral_id) in reward.clawback.reason
    assert world.budget_left(program_id) == Decimal("4980.00")
    # And the advocate is flagged for the risk features
    item = world.table.get(f"ADVOCATE#{advocate_id}", "ADVOCATE")
    assert item is not None
    assert item[REVERSED_REFERRALS] == 1 and item[CLAWED_BACK_REFERRALS] == 1


def _approved_with_low_risk(world: World, program_id: str, code: str) -> str:
    referral_id = world.qualified(program_id, code)
    risk = Risk(
        score=Decimal("4.00"),
        decision="approve",
        reasons=[],
        model_version="m-test",
        scored_at=world.clock.now(),
    )
    world.approve(referral_id, risk)
    return referral_id


def _paid(world: World) -> None:
    world.release.run()
    world.drain()


def test_refund_after_payout_adds_the_refund_to_the_risk_and_keeps_the_decision(
    world: World,
) -> None:
    # Given a low-risk referral whose rewards were paid
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = _approved_with_low_risk(world, program_id, code)
    _paid(world)

    # When its order is refunded in full three days later
    world.later(days=3)
    world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then the risk says so: a higher score and the refund as its first reason
    referral = world.referral_repo.get(referral_id)
    assert referral is not None and referral.risk is not None
    assert referral.clawed_back_at == world.clock.now()
    assert referral.risk.score > Decimal("50")
    assert referral.risk.reasons[0].code == rules.REFUND_AFTER_REWARD
    assert referral.risk.reasons[0].evidence["advocate_other_clawbacks"] == 0
    # And the decision its rewards were paid on stands
    assert referral.risk.decision == "approve"


def test_each_earlier_clawback_of_the_advocate_weighs_the_next_refund_more(
    world: World,
) -> None:
    # Given three paid referrals of one advocate
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_ids = [_approved_with_low_risk(world, program_id, code) for _ in range(3)]
    _paid(world)
    world.later(days=3)

    # When each is refunded in turn
    scores = []
    for referral_id in referral_ids:
        world.refund(referral_id, world.order_of(referral_id), "45.00")
        referral = world.referral_repo.get(referral_id)
        assert referral is not None and referral.risk is not None
        scores.append(referral.risk.score)

    # Then every refund after the first says more about the advocate
    assert scores[0] < scores[1] < scores[2]


def test_a_pattern_of_clawbacks_raises_the_advocates_earlier_ones_too(world: World) -> None:
    # Given three paid referrals of one advocate, and one of another advocate
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_ids = [_approved_with_low_risk(world, program_id, code) for _ in range(3)]
    _, other_code = world.advocate(program_id)
    bystander = _approved_with_low_risk(world, program_id, other_code)
    _paid(world)
    world.later(days=3)
    world.refund(bystander, world.order_of(bystander), "45.00")

    # When each of the advocate's is refunded in turn
    for referral_id in referral_ids:
        world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then the first refund now weighs as much as the last: each counts two others
    referrals = [world.referral_repo.get(r) for r in referral_ids]
    risks = [r.risk for r in referrals if r is not None and r.risk is not None]
    assert len(risks) == 3 and len({r.score for r in risks}) == 1
    assert [r.reasons[0].evidence["advocate_other_clawbacks"] for r in risks] == [2, 2, 2]
    # And the decisions they were paid on stand
    assert [r.decision for r in risks] == ["approve"] * 3
    # And the other advocate's refund still counts as an ordinary return
    other = world.referral_repo.get(bystander)
    assert other is not None and other.risk is not None
    assert other.risk.reasons[0].evidence["advocate_other_clawbacks"] == 0


def test_a_busy_advocates_occasional_returns_each_weigh_as_one(world: World) -> None:
    # Given ten paid referrals of one advocate
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_ids = [_approved_with_low_risk(world, program_id, code) for _ in range(10)]
    _paid(world)
    world.later(days=3)

    # When three of them are refunded
    for referral_id in referral_ids[:3]:
        world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then each refund weighs as an ordinary return: three in ten is not a pattern
    referrals = [world.referral_repo.get(r) for r in referral_ids[:3]]
    risks = [r.risk for r in referrals if r is not None and r.risk is not None]
    assert len(risks) == 3 and len({r.score for r in risks}) == 1
    assert [r.reasons[0].evidence["advocate_other_clawbacks"] for r in risks] == [0, 1, 2]


def test_refund_before_payout_leaves_the_risk_as_it_was(world: World) -> None:
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = _approved_with_low_risk(world, program_id, code)
    world.release.run()  # released, not yet sent

    world.refund(referral_id, world.order_of(referral_id), "45.00")

    referral = world.referral_repo.get(referral_id)
    assert referral is not None and referral.risk is not None
    assert referral.risk.score == Decimal("4.00") and referral.clawed_back_at is None


def test_refund_before_release_reverses_the_holding_referral(world: World) -> None:
    program_id, _, referral_id = _setup(world, holding_period_days=14)

    world.refund(referral_id, world.order_of(referral_id), "45.00")

    assert world.status(referral_id) == ReferralStatus.REVERSED
    assert world.release.run(world.clock.now() + timedelta(days=15)).released == []
    assert world.budget_left(program_id) == Decimal("5000.00")


def test_partial_refund_leaving_the_minimum_does_not_reverse(world: World) -> None:
    # Given a $45 order and a $20 minimum
    _, _, referral_id = _setup(world, min_order_value="20.00")
    world.release.run()

    # When $25 is refunded ($20 left)
    outcome = world.refund(referral_id, world.order_of(referral_id), "25.00")

    assert not outcome.record.reversed
    assert outcome.record.order_amount_left == Decimal("20.00")
    assert world.status(referral_id) == ReferralStatus.REWARDING


def test_partial_refunds_reverse_once_what_is_left_falls_below_the_minimum(world: World) -> None:
    _, _, referral_id = _setup(world, min_order_value="20.00")
    world.release.run()
    order_id = world.order_of(referral_id)

    world.refund(referral_id, order_id, "25.00", occurred_at=iso(world.clock.now()))
    world.later(hours=1)
    second = world.refund(referral_id, order_id, "0.01", occurred_at=iso(world.clock.now()))

    assert second.record.reversed and second.record.order_amount_left == Decimal("19.99")
    assert world.status(referral_id) == ReferralStatus.REVERSED


def test_the_same_refund_twice_is_recorded_once(world: World) -> None:
    _, _, referral_id = _setup(world)
    order_id = world.order_of(referral_id)
    at = iso(world.clock.now())

    first = world.refund(referral_id, order_id, "5.00", occurred_at=at)
    again = world.refund(referral_id, order_id, "5.00", occurred_at=at)

    assert not first.replayed and again.replayed
    assert again.record.order_amount_left == Decimal("40.00")


def test_refund_before_its_event_is_refused(world: World) -> None:
    _, _, referral_id = _setup(world)
    before = iso(world.clock.now() - timedelta(minutes=1))

    with pytest.raises(InvalidRequest) as err:
        world.refund(referral_id, world.order_of(referral_id), "45.00", occurred_at=before)

    assert err.value.errors[0].code == "before_event"


def test_refund_of_an_unknown_order_is_refused(world: World) -> None:
    _, _, referral_id = _setup(world)

    with pytest.raises(InvalidRequest) as err:
        world.refund(referral_id, "no-such-order", "1.00")

    assert err.value.errors[0].field == "order_id"


def test_refund_of_more_than_the_order_is_refused(world: World) -> None:
    _, _, referral_id = _setup(world)

    with pytest.raises(InvalidRequest) as err:
        world.refund(referral_id, world.order_of(referral_id), "45.01")

    assert err.value.errors[0].code == "exceeds_order"


def test_refund_in_another_currency_is_refused(world: World) -> None:
    _, _, referral_id = _setup(world)

    with pytest.raises(InvalidRequest) as err:
        world.refund(referral_id, world.order_of(referral_id), "5.00", currency="EUR")

    assert err.value.errors[0].field == "currency"


def test_refund_on_an_unknown_referral_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.refund("ref_unknown", "ord", "1.00")


def test_refund_of_a_later_purchase_is_evidence_only(world: World) -> None:
    _, _, referral_id = _setup(world)
    world.events.record(
        referral_id, EventCreate.model_validate(purchase_body(order_id="later-1")).command()
    )

    outcome = world.refund(referral_id, "later-1", "45.00")

    assert not outcome.record.reversed
    assert world.status(referral_id) == ReferralStatus.HOLDING


def test_refund_while_a_payout_is_in_flight_claws_it_back(world: World) -> None:
    # Given an entry committed to the provider (sent) whose answer has not been recorded
    _, _, referral_id = _setup(world)
    world.release.run()
    advocate = next(r for r in world.rewards(referral_id) if r.beneficiary == "advocate")
    world.ledger.apply(
        referral_id,
        advocate.reward_id,
        lambda r: Change(
            r.moved(RewardStatus.SENT, world.clock.now(), provider="sandbox_gift_card")
        ),
    )

    # When the order is refunded
    world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then the in-flight entry is clawed back, the queued one cancelled
    statuses = {r.beneficiary: r.status for r in world.rewards(referral_id)}
    assert statuses == {"advocate": RewardStatus.CLAWED_BACK, "referee": RewardStatus.CANCELLED}


def test_refund_of_a_referral_in_review_takes_it_off_the_review_queue(world: World) -> None:
    # Given a referral waiting in finance's review queue
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.qualified(program_id, code)
    referral = world.referral_repo.get(referral_id)
    assert referral is not None
    in_review = referral.model_copy(
        update={
            "status": ReferralStatus.REVIEW,
            "review_opened_at": world.clock.now(),
            "version": referral.version + 1,
        }
    )
    world.referral_repo.save(in_review, referral.version, [ReviewIndex.put_op(in_review)])

    # When its order is refunded
    world.refund(referral_id, world.order_of(referral_id), "45.00")

    # Then it is reversed and no longer listed for review
    assert world.status(referral_id) == ReferralStatus.REVERSED
    assert ReviewIndex(world.table).get(referral_id) is None
