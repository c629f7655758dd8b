"""Finance reissues a failed reward: a new attempt on the same entry, paid at most once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardMessage, RewardStatus
from shared.errors import Conflict, NotFound
from shared.payouts import idempotency_key_for
from shared.payouts.sandbox import SandboxCashProvider, SandboxGiftCardProvider, SandboxTimeline
from shared.payouts.sandbox_faults import Fault, FaultPlan
from shared.repositories.audit import AuditLog
from shared.repositories.budget import spend_op
from shared.schemas.rewards import ReissueIn
from shared.services.ledger import Change
from shared.services.reissue import ReissueService
from shared.storage.memory_table import MemoryTable
from tests.support import T0
from tests.unit.rewards.conftest import World, WorldFactory


def _reissuer(world: World) -> ReissueService:
    return world.services().reissue


def _failed_gift_card(world: World, **program: object) -> tuple[str, Reward]:
    """A released referral whose cash reward is paid and whose gift card was refused
    (`world` is built with a refusal first in its gift-card script)."""
    program_id = world.program(**program)
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    world.drain()
    world.later(minutes=1)
    gift = next(r for r in world.rewards(referral_id) if r.kind == "gift_card")
    assert gift.status == RewardStatus.FAILED
    return referral_id, gift


def _reissue(world: World, reward_id: str, **body: object) -> Reward:
    return _reissuer(world).reissue(
        reward_id,
        ReissueIn.model_validate({"note": "recipient fixed", **body}).command(),
        actor="fin-1",
    )


def _current(world: World, reward: Reward) -> Reward:
    found = world.reward_repo.get(reward.referral_id, reward.reward_id)
    assert found is not None
    return found


def test_a_failed_reward_reissued_pays_once_and_the_referral_becomes_rewarded(
    make_world: WorldFactory,
) -> None:
    # Given a gift card the provider refused, its referral stuck in `rewarding`
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    referral_id, gift = _failed_gift_card(world)
    assert world.status(referral_id) == ReferralStatus.REWARDING

    # When finance reissues it and the queue delivers it
    reissued = _reissue(world, gift.reward_id)
    world.drain()

    # Then the second attempt pays under its own key, once, and the referral is settled
    assert reissued.status == RewardStatus.QUEUED and reissued.attempt == 1
    paid = _current(world, gift)
    assert paid.status == RewardStatus.CONFIRMED
    assert paid.idempotency_key == idempotency_key_for(gift.reward_id, "sandbox_gift_card", 1)
    gift_orders = [o for o in world.paid_orders() if o.idempotency_key == paid.idempotency_key]
    assert len(gift_orders) == 1
    assert world.status(referral_id) == ReferralStatus.REWARDED


def test_a_reissue_writes_who_when_why_and_which_attempt_to_the_audit(
    make_world: WorldFactory,
) -> None:
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    referral_id, gift = _failed_gift_card(world)

    _reissue(world, gift.reward_id, note="address corrected by phone")

    entries, _ = AuditLog(world.table).for_referral(referral_id)
    entry = next(e for e in entries if e.action == "reward.reissued")
    assert entry.actor == "fin-1" and entry.at == world.clock.now()
    assert entry.note == "address corrected by phone"
    assert entry.details["attempt"] == 1 and entry.details["reward_id"] == gift.reward_id


def test_a_reissue_spends_the_budget_the_failure_returned(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    _, gift = _failed_gift_card(world)
    before = world.budget_left(gift.program_id)

    _reissue(world, gift.reward_id)

    assert world.budget_left(gift.program_id) == before - gift.amount


def test_a_reissue_pays_the_new_recipient_email(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    _, gift = _failed_gift_card(world)

    _reissue(world, gift.reward_id, recipient_email="new.address@example.com")
    world.drain()

    assert _current(world, gift).status == RewardStatus.CONFIRMED
    assert _current(world, gift).recipient_email == "new.address@example.com"


def test_a_reissue_with_a_malformed_email_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="recipient_email"):
        ReissueIn.model_validate({"note": "x", "recipient_email": "not-an-address"})


def test_a_reissue_without_a_note_is_refused() -> None:
    with pytest.raises(ValueError, match="note"):
        ReissueIn.model_validate({})


@pytest.mark.parametrize("status", ["queued", "sent", "confirmed"])
def test_a_reissue_of_an_entry_that_has_not_failed_is_409(world: World, status: str) -> None:
    # Given a released referral whose gift card is queued, sent or confirmed
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    messages = world.queue.take()
    gift = next(r for r in world.rewards(referral_id) if r.kind == "gift_card")
    if status == "sent":
        world.ledger.apply(
            referral_id,
            gift.reward_id,
            lambda r: Change(r.moved(RewardStatus.SENT, world.clock.now())),
        )
    elif status == "confirmed":
        for _, message in messages:
            world.deliver(message)

    # When finance reissues it, then it is refused and nothing changes
    with pytest.raises(Conflict):
        _reissue(world, gift.reward_id)
    assert _current(world, gift).status == RewardStatus(status)
    assert _current(world, gift).attempt == 0


def _slow_cash_world() -> World:
    """Cash orders stay `pending` at the provider for an hour after they are created."""
    clock = FixedClock(T0)
    return World(
        table=MemoryTable(),
        clock=clock,
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers={
            "gift_card": SandboxGiftCardProvider(clock=clock),
            "cash": SandboxCashProvider(
                clock=clock, timeline=SandboxTimeline(pending_for=timedelta(hours=1))
            ),
        },
    )


def test_a_reissue_while_the_earlier_attempt_is_in_flight_at_the_provider_is_409() -> None:
    # Given a cash payout the provider holds as pending, but an entry marked failed
    world = _slow_cash_world()
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    cash_message = next(m for kind, m in world.queue.take() if kind == "cash")
    world.deliver(cash_message)
    cash = next(r for r in world.rewards(referral_id) if r.kind == "cash")
    assert cash.status == RewardStatus.SENT
    world.ledger.apply(
        referral_id, cash.reward_id, lambda r: world.ledger.failed(r, "ops", world.clock.now())
    )

    # When finance reissues it, then the lookup by the first key refuses the reissue
    with pytest.raises(Conflict, match="attempt 0"):
        _reissue(world, cash.reward_id)
    assert _current(world, cash).status == RewardStatus.FAILED
    assert _current(world, cash).attempt == 0


def test_reissuing_twice_pays_once(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    referral_id, gift = _failed_gift_card(world)

    _reissue(world, gift.reward_id)
    with pytest.raises(Conflict):
        _reissue(world, gift.reward_id)
    world.drain()
    # A redelivery of attempt 1 after it paid pays nothing more
    world.deliver(RewardMessage(gift.reward_id, referral_id))

    key = _current(world, gift).idempotency_key
    assert len([o for o in world.paid_orders() if o.idempotency_key == key]) == 1
    assert _current(world, gift).attempt == 1


def test_a_reissue_over_an_exhausted_budget_is_409_and_leaves_the_entry_failed(
    make_world: WorldFactory,
) -> None:
    # Given a failed gift card whose returned budget has since been spent elsewhere
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    _, gift = _failed_gift_card(world)
    left = world.budget_left(gift.program_id)
    world.table.write([spend_op(gift.program_id, left)])

    # When finance reissues it
    with pytest.raises(Conflict, match="budget"):
        _reissue(world, gift.reward_id)

    # Then it stays failed, nothing is queued and the budget is untouched
    assert _current(world, gift).status == RewardStatus.FAILED
    assert world.queue.take() == []
    assert world.budget_left(gift.program_id) == Decimal(0)


def test_a_reissue_of_an_unknown_reward_is_404(world: World) -> None:
    with pytest.raises(NotFound):
        _reissue(world, "ref_nothing-advocate")


def test_a_reissue_of_a_reward_of_a_reversed_referral_is_409(make_world: WorldFactory) -> None:
    world = make_world(gift_script=[Fault.reject("recipient refused")])
    referral_id, gift = _failed_gift_card(world)
    world.refund(referral_id, world.order_of(referral_id), "45.00")

    with pytest.raises(Conflict):
        _reissue(world, gift.reward_id)


def test_a_second_attempt_refused_again_can_be_reissued_a_third_time(
    make_world: WorldFactory,
) -> None:
    world = make_world(gift_script=[Fault.reject("refused"), Fault.reject("still refused")])
    referral_id, gift = _failed_gift_card(world)

    _reissue(world, gift.reward_id)
    world.drain()
    assert _current(world, gift).status == RewardStatus.FAILED
    _reissue(world, gift.reward_id)
    world.drain()

    assert _current(world, gift).status == RewardStatus.CONFIRMED
    assert _current(world, gift).attempt == 2
    assert world.status(referral_id) == ReferralStatus.REWARDED
