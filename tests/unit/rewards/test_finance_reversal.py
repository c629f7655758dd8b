"""Finance reverses a referral without a refund: unpaid rewards cancelled, paid ones clawed back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import RewardStatus
from shared.errors import Conflict, NotFound
from shared.payouts.sandbox_faults import Fault
from shared.repositories import keys
from shared.repositories.audit import AuditLog
from shared.repositories.rewards import CLAWED_BACK_REFERRALS, REVERSED_REFERRALS
from shared.schemas.rewards import ReissueIn, ReverseIn
from shared.services.reversal import FINANCE_REVERSAL_REASON
from tests.unit.rewards.conftest import World, WorldFactory


def _released(world: World) -> tuple[str, str, str]:
    program_id = world.program()
    advocate_id, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    return program_id, advocate_id, referral_id


def _reverse(world: World, referral_id: str, note: str = "signup fraud confirmed"):  # type: ignore[no-untyped-def]
    return world.services().finance_reversal.reverse(
        referral_id, ReverseIn(note=note).command(), actor="fin-1"
    )


def test_a_reverse_before_payout_cancels_the_rewards_and_returns_the_budget(world: World) -> None:
    # Given rewards released and still queued
    program_id, _, referral_id = _released(world)
    assert world.budget_left(program_id) == Decimal("4980.00")

    # When finance reverses the referral
    outcome = _reverse(world, referral_id)

    # Then the rewards are cancelled, the budget is back, nothing is ever paid
    assert outcome.status == ReferralStatus.REVERSED
    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CANCELLED}
    assert world.budget_left(program_id) == Decimal("5000.00")
    world.drain()
    assert world.paid_orders() == []


def test_a_reverse_after_payout_claws_back_as_reversed_by_finance(world: World) -> None:
    # Given rewards paid and confirmed
    program_id, advocate_id, referral_id = _released(world)
    world.drain()
    assert world.status(referral_id) == ReferralStatus.REWARDED

    # When finance reverses the referral a day later
    world.later(days=1)
    _reverse(world, referral_id)

    # Then each paid entry is clawed back with when, why and how much; the budget stays spent
    assert world.status(referral_id) == ReferralStatus.REVERSED
    for reward in world.rewards(referral_id):
        assert reward.status == RewardStatus.CLAWED_BACK
        assert reward.clawback is not None
        assert reward.clawback.reason == FINANCE_REVERSAL_REASON
        assert reward.clawback.at == world.clock.now()
        assert reward.clawback.amount == reward.amount
        assert reward.clawback.refund_order_id is None
    assert world.budget_left(program_id) == Decimal("4980.00")
    advocate = world.table.get(*keys.advocate(advocate_id))
    assert advocate is not None
    assert advocate[REVERSED_REFERRALS] == 1 and advocate[CLAWED_BACK_REFERRALS] == 1


def test_a_reverse_writes_who_when_and_the_note_to_the_audit(world: World) -> None:
    _, _, referral_id = _released(world)

    _reverse(world, referral_id, note="duplicate account")

    entries, _ = AuditLog(world.table).for_referral(referral_id)
    entry = next(e for e in entries if e.action == "referral.reversed")
    assert entry.actor == "fin-1" and entry.at == world.clock.now()
    assert entry.note == "duplicate account"
    assert entry.details["reason"] == FINANCE_REVERSAL_REASON
    assert entry.after is not None and entry.after["status"] == "reversed"


def test_a_second_reverse_is_409(world: World) -> None:
    program_id, _, referral_id = _released(world)
    _reverse(world, referral_id)

    with pytest.raises(Conflict):
        _reverse(world, referral_id)
    assert world.budget_left(program_id) == Decimal("5000.00")


def test_a_reverse_after_a_refund_reversed_it_is_409(world: World) -> None:
    _, _, referral_id = _released(world)
    world.refund(referral_id, world.order_of(referral_id), "45.00")

    with pytest.raises(Conflict):
        _reverse(world, referral_id)


def test_a_reverse_of_a_pending_referral_moves_it_to_reversed(world: World) -> None:
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.qualified(program_id, code)

    _reverse(world, referral_id)

    assert world.status(referral_id) == ReferralStatus.REVERSED
    assert world.rewards(referral_id) == []


def test_a_reverse_of_an_unknown_referral_is_404(world: World) -> None:
    with pytest.raises(NotFound):
        _reverse(world, "ref_nothing")


def test_a_reverse_leaves_a_failed_entry_failed(world: World) -> None:
    # The failure already returned its amount; cancelling it would return it twice.
    program_id, _, referral_id = _released(world)
    gift = next(r for r in world.rewards(referral_id) if r.kind == "gift_card")
    now = world.clock.now()
    world.ledger.apply(
        referral_id,
        gift.reward_id,
        lambda r: world.ledger.failed(r.moved(RewardStatus.SENT, now), "x", now),
    )

    _reverse(world, referral_id)

    statuses = {r.kind: r.status for r in world.rewards(referral_id)}
    assert statuses == {"gift_card": RewardStatus.FAILED, "cash": RewardStatus.CANCELLED}
    assert world.budget_left(program_id) == Decimal("5000.00")


class ReissueFirst:
    """A table on which a reissue commits between the reversal's reads and its write."""

    def __init__(self, world: World, reward_id: str) -> None:
        self._world = world
        self._reward_id = reward_id
        self.raced = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._world.table, name)

    def write(self, ops: list[object]) -> None:
        if not self.raced:
            self.raced = True
            reissuer = self._world.services().reissue
            reissuer.reissue(self._reward_id, ReissueIn(note="race").command(), actor="fin-2")
        self._world.table.write(ops)  # type: ignore[arg-type]


def test_a_reverse_racing_a_reissue_cancels_the_reissued_entry(make_world: WorldFactory) -> None:
    # Given a failed gift card, reissued by one finance user while another reverses
    world = make_world(gift_script=[Fault.reject("refused")])
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    world.drain()
    gift = next(r for r in world.rewards(referral_id) if r.kind == "gift_card")
    racing = ReissueFirst(world, gift.reward_id)

    # When the reversal writes after the reissue committed
    world.services(table=racing).finance_reversal.reverse(  # type: ignore[arg-type]
        referral_id, ReverseIn(note="fraud").command(), actor="fin-1"
    )

    # Then it decided again: the reissued entry is cancelled and nothing more is paid
    assert racing.raced
    after = world.reward_repo.get(referral_id, gift.reward_id)
    assert after is not None and after.status == RewardStatus.CANCELLED
    world.drain()
    assert [o.amount for o in world.paid_orders()] == [Decimal("10.00")]
    assert world.budget_left(program_id) == Decimal("4990.00")
